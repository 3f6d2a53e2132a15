"""Fashion-MNIST for the PyTorch side of `make bench`: the first 54,000 training images as
float tensors in [0, 1], standardized per pixel, and their labels (the Debian package's files)."""
import gzip

import torch

DATA = "/usr/share/datasets/fashion-mnist"


def _load(name, offset):
    with gzip.open(f"{DATA}/{name}", "rb") as f:
        return torch.frombuffer(bytearray(f.read()[offset:]), dtype=torch.uint8)


def training_set(shape=(-1, 784), count=54000):
    x = _load("train-images-idx3-ubyte.gz", 16).float().reshape(*shape)[:count] / 255
    y = _load("train-labels-idx1-ubyte.gz", 8).long()[:count]
    x = (x - x.mean(0)) / x.std(0, unbiased=False).clamp_min(1e-7)
    return x, y
