#!/usr/bin/env python3
"""Writes N RGB PNG images of SIZE x SIZE into DIR/<class>/ (four classes of smooth colour patterns
plus seeded noise), with only the Python standard library. Usage: rgb_folder.py DIR N SIZE"""
import math
import os
import random
import struct
import sys
import zlib


def png(width, height, rows):
    """PNG bytes of 8-bit RGB rows (each a bytes of width * 3)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def main():
    out, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(0)
    for i in range(n):
        cls = i % 4
        folder = os.path.join(out, "class%d" % cls)
        os.makedirs(folder, exist_ok=True)
        phase = rng.random() * 6.28
        rows = []
        for y in range(size):
            row = bytearray()
            for x in range(size):
                for c in range(3):
                    v = 0.5 + 0.4 * math.sin((x * (cls + 1) + y * (c + 1)) / size * 6.28 + phase)
                    row.append(max(0, min(255, int(255 * v + rng.gauss(0, 12)))))
            rows.append(bytes(row))
        with open(os.path.join(folder, "%04d.png" % i), "wb") as f:
            f.write(png(size, size, rows))


if __name__ == "__main__":
    main()
