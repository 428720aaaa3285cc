#!/usr/bin/env python3
"""Writes a planted bank for `memscope score --bank` (no NumPy needed): logp.npy [N, J] float32 with
s_ij = mu_i + delta [i in j] + sigma eps_ij, mu_i ~ N(0, tau^2), and mask.npy [N, J] bool where every
example is in exactly J/2 models (random per example).
Usage: scripts/planted-bank.py DIR N J [delta sigma tau seed]   (defaults 0.5 1 2 0)"""
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
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, n, j = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    extra = sys.argv[4:] + ["0.5", "1", "2", "0"][len(sys.argv[4:]):]
    delta, sigma, tau, seed = float(extra[0]), float(extra[1]), float(extra[2]), int(extra[3])
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    logp, mask = array.array("f"), bytearray()
    models = list(range(j))
    for _ in range(n):
        mu = rng.gauss(0, tau)
        rng.shuffle(models)
        row_in = set(models[: j // 2])
        for m in range(j):
            inside = m in row_in
            mask.append(1 if inside else 0)
            logp.append(mu + (delta if inside else 0) + rng.gauss(0, sigma))
    npy(os.path.join(out, "logp.npy"), "<f4", (n, j), logp.tobytes())
    npy(os.path.join(out, "mask.npy"), "|b1", (n, j), bytes(mask))


if __name__ == "__main__":
    main()
