#!/usr/bin/env python3
"""PyTorch side of `make bench`: the fashion-mlp model (784-512-256-10, ReLU, dropout 0.2,
Adam lr 1e-3, batch 128) trained for one epoch on the same 54,000 Fashion-MNIST examples,
data preloaded as standardized float tensors. Prints one JSON line with samples/s.

With --eval: forward passes only (model.eval(), torch.no_grad()) over the 60,000 images of
the training file in batches of 1000, the figure `nntrain eval` is compared with.

Usage: python bench/torch_mlp.py --threads N [--fused | --eval]
"""
import argparse
import json
import resource
import time

import torch

from fashion_data import train, training_set


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fused", action="store_true", help="Adam(fused=True) and flush denormals")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--eval", action="store_true", help="time evaluation (batch 1000) instead of training")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.fused:
        torch.set_flush_denormal(True)
    # Evaluation runs over all 60,000 images of the training file, as `nntrain eval --data` does.
    x, y = training_set((-1, 784), count=60000 if args.eval else 54000)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(512, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    if args.eval:
        model.eval()
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, x.shape[0], 1000):
                model(x[i:i + 1000]).argmax(1)
        seconds = time.perf_counter() - start
        print(json.dumps({"samples_per_second": x.shape[0] / seconds, "seconds": seconds, "torch": torch.__version__}))
        return
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True if args.fused else None)
    n = x.shape[0]
    seconds, final_loss = train(model, opt, x, y, epochs=args.epochs)
    print(json.dumps({"samples_per_second": n * args.epochs / seconds, "seconds": seconds,
                      "final_loss": final_loss, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
