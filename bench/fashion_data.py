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


def held_out_split():
    """The accuracy runs' data: 10 % of the 60,000 training images held out by a shuffle of the
    torch seed already set, per-pixel standardization fitted on the other 90 %, and the 10,000
    test images; returns (x, y, xv, yv, xt, yt), images flat [N, 784]."""
    x = _load("train-images-idx3-ubyte.gz", 16).float().reshape(-1, 784)
    y = _load("train-labels-idx1-ubyte.gz", 8).long()
    xt = _load("t10k-images-idx3-ubyte.gz", 16).float().reshape(-1, 784)
    yt = _load("t10k-labels-idx1-ubyte.gz", 8).long()
    perm = torch.randperm(x.shape[0])
    nv = x.shape[0] // 10
    xv, yv, x, y = x[perm[:nv]], y[perm[:nv]], x[perm[nv:]], y[perm[nv:]]
    mean, std = x.mean(0), x.std(0, unbiased=False)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (x - mean) / std, y, (xv - mean) / std, yv, (xt - mean) / std, yt


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
