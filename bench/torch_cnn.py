#!/usr/bin/env python3
"""PyTorch side of `make bench` for the CNN: the fashion-cnn model (conv3x3-32, max-pool,
conv3x3-64, max-pool, dropout 0.3, dense 128, dense 10; Adam lr 1e-3, batch 128) trained for
one epoch on the same 54,000 Fashion-MNIST examples, data preloaded and standardized, no
augmentation. Prints one JSON line with samples/s.

Usage: python bench/torch_cnn.py --threads N
"""
import argparse
import json

import torch

from fashion_data import train, training_set


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = training_set((-1, 1, 28, 28))
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Dropout(0.3), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = x.shape[0]
    seconds, final_loss = train(model, opt, x, y)
    print(json.dumps({"samples_per_second": n / seconds, "seconds": seconds, "final_loss": final_loss,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
