"""Fashion-MNIST for the PyTorch side of `make bench`: the first 54,000 training images as
float tensors in [0, 1], standardized per pixel, and their labels (the Debian package's files);
and the timed training loop both PyTorch scripts share."""
import gzip
import time

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


def train(model, opt, x, y, epochs=1, batch=128):
    """Trains `epochs` epochs in shuffled batches with cross-entropy; returns (seconds, last loss)."""
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return time.perf_counter() - start, float(loss.detach())
