#!/usr/bin/env python3
"""Writes a planted bank for `memscope score --bank` (no NumPy needed): logp.npy [N, J] float32 with
s_ij = mu_i + delta [i in j] + sigma eps_ij, mu_i ~ N(0, tau^2), and mask.npy [N, J] bool where every
example is in exactly J/2 models (random per example). With --images, also images.npy [N, 1, 8, 8] uint8 (a
bright square whose size grows with mu_i on noise) and labels.npy [N] int64 (i mod 10), for the report.
Usage: scripts/planted-bank.py [--images] DIR N J [delta sigma tau seed]   (defaults 0.5 1 2 0)"""
import array
import os
import random
import sys


def npy(path, descr, shape, payload):
    dims = ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1"))
        f.write(payload)


def main():
    images = "--images" in sys.argv
    argv = [a for a in sys.argv if a != "--images"]
    if len(argv) < 4:
        sys.exit(__doc__)
    out, n, j = argv[1], int(argv[2]), int(argv[3])
    extra = argv[4:] + ["0.5", "1", "2", "0"][len(argv[4:]):]
    delta, sigma, tau, seed = float(extra[0]), float(extra[1]), float(extra[2]), int(extra[3])
    rng, noise = random.Random(seed), random.Random(seed + 1)
    os.makedirs(out, exist_ok=True)
    logp, mask, pixels = array.array("f"), bytearray(), bytearray()
    models = list(range(j))
    for _ in range(n):
        mu = rng.gauss(0, tau)
        if images:  # its own stream: the bank is the same with or without images
            side = max(0, min(8, int(round(4 + mu))))
            pixels.extend(230 if (y < side and x < side) else noise.randrange(60) for y in range(8) for x in range(8))
        rng.shuffle(models)
        row_in = set(models[: j // 2])
        for m in range(j):
            inside = m in row_in
            mask.append(1 if inside else 0)
            logp.append(mu + (delta if inside else 0) + rng.gauss(0, sigma))
    npy(os.path.join(out, "logp.npy"), "<f4", (n, j), logp.tobytes())
    npy(os.path.join(out, "mask.npy"), "|b1", (n, j), bytes(mask))
    if images:
        npy(os.path.join(out, "images.npy"), "|u1", (n, 1, 8, 8), bytes(pixels))
        npy(os.path.join(out, "labels.npy"), "<i8", (n,), array.array("q", [i % 10 for i in range(n)]).tobytes())


if __name__ == "__main__":
    main()
