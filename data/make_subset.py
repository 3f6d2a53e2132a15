#!/usr/bin/env python3
"""Makes data/fashion-mnist-subset: a small stratified subset of Fashion-MNIST.

Source: the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/).
Output: IDX files, gzip-compressed with a fixed mtime so the bytes are reproducible:
  train: 300 images per class (3,000), test: 50 per class (500), classes interleaved in a
  seeded random order. Run: python3 data/make_subset.py  (standard library only)
"""
import gzip
import os
import random
import struct
import sys

SRC = "/usr/share/datasets/fashion-mnist"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fashion-mnist-subset")
PER_CLASS = {"train": 300, "t10k": 50}
SEED = 20261122


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 8, path
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return dims, data[4 + 4 * rank:]


def write_idx(path, dims, payload):
    header = struct.pack(">HBB", 0, 8, len(dims)) + struct.pack(">" + "I" * len(dims), *dims)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(header + payload)


def main():
    if not os.path.isdir(SRC):
        sys.exit(f"{SRC} not found: apt-get install dataset-fashion-mnist")
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(SEED)
    for split, per_class in PER_CLASS.items():
        (n, h, w), images = read_idx(f"{SRC}/{split}-images-idx3-ubyte.gz")
        (nl,), labels = read_idx(f"{SRC}/{split}-labels-idx1-ubyte.gz")
        assert n == nl
        by_class = {}
        for i, label in enumerate(labels):
            by_class.setdefault(label, []).append(i)
        chosen = []
        for label in sorted(by_class):
            chosen += rng.sample(by_class[label], per_class)
        rng.shuffle(chosen)
        size = h * w
        img = b"".join(images[i * size:(i + 1) * size] for i in chosen)
        lab = bytes(labels[i] for i in chosen)
        write_idx(f"{OUT}/{split}-images-idx3-ubyte.gz", (len(chosen), h, w), img)
        write_idx(f"{OUT}/{split}-labels-idx1-ubyte.gz", (len(chosen),), lab)
        print(f"{split}: {len(chosen)} examples, {per_class} per class")


if __name__ == "__main__":
    main()
