#!/usr/bin/env python3
"""PyTorch side of `make bench`'s sequence model: configs/fashion-lstm.json as PyTorch code.
Row-sequential Fashion-MNIST (each image 28 steps of 28 standardized pixels), nn.LSTM(28, 128,
batch_first=True) → the last step's state → nn.Linear(128, 10), Adam lr 1e-3, batch 128,
gradient norm clipped at 1.

Default: one epoch on the first 54,000 training images, prints samples/s (--fused: Adam(fused=
True) with flush-to-zero, PyTorch's best CPU mode for this model). With --accuracy: the config's
whole run (10 % of the 60,000 images held out by a seeded shuffle, standardization fitted on the
rest, --epochs epochs, no early stopping), then test accuracy. Prints one JSON line.

Usage: python bench/torch_lstm.py --threads N [--fused] [--accuracy --seed S --epochs E]
"""
import argparse
import json
import time

import torch

from fashion_data import held_out_split, training_set


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(28, 128, batch_first=True)
        self.fc = torch.nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


def epoch(model, opt, x, y, batch=128):
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    perm = torch.randperm(x.shape[0])
    for i in range(0, x.shape[0], batch):
        idx = perm[i:i + batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return float(loss.detach())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fused", action="store_true")
    ap.add_argument("--accuracy", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.fused:
        torch.set_flush_denormal(True)
    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True if args.fused else None)
    if not args.accuracy:
        x, y = training_set((-1, 28, 28), count=54000)
        start = time.perf_counter()
        loss = epoch(model, opt, x, y)
        seconds = time.perf_counter() - start
        print(json.dumps({"samples_per_second": x.shape[0] / seconds, "seconds": seconds, "final_loss": loss,
                          "torch": torch.__version__}))
        return
    x, y, _, _, xt, yt = held_out_split()
    x, xt = x.reshape(-1, 28, 28), xt.reshape(-1, 28, 28)
    for _ in range(args.epochs):
        epoch(model, opt, x, y)
    model.eval()
    with torch.no_grad():
        acc = float((model(xt).argmax(1) == yt).float().mean())
    print(json.dumps({"test_accuracy": acc, "epochs": args.epochs, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
