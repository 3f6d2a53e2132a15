#!/usr/bin/env python3
"""PyTorch side of `make bench`'s accuracy check: configs/fashion-mlp.json as PyTorch code, to
compare test accuracy with `nntrain run configs/fashion-mlp.json`.

The same model (784-512-256-10, ReLU, dropout 0.2 after the first layer; He-normal weights
(kaiming_normal_, fan_in, relu) and zero biases), optimizer (Adam lr 1e-3, betas 0.9/0.999,
eps 1e-8), schedule (CosineAnnealingLR, T_max 10, stepped per epoch), batch 128 shuffled, 10
epochs, 10 % of the 60,000 training images held out by a seeded shuffle, per-pixel
standardization fitted on the other 90 %, early stopping on the validation loss (patience 3,
best weights restored), then accuracy on the 10,000 test images. Prints one JSON line.

Usage: python bench/torch_accuracy.py --seed S [--threads N] [--epochs E]
"""
import argparse
import json

import torch

from fashion_data import held_out_split


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x, y, xv, yv, xt, yt = held_out_split()

    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(512, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = torch.nn.CrossEntropyLoss()

    def evaluate(xs, ys):
        model.eval()
        with torch.no_grad():
            out = model(xs)
            return float(loss_fn(out, ys)), float((out.argmax(1) == ys).float().mean())

    best, best_state, bad, epochs = float("inf"), None, 0, 0
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0], 128):
            idx = order[i:i + 128]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        sched.step()
        epochs += 1
        val_loss, _ = evaluate(xv, yv)
        if val_loss < best:
            best, bad = val_loss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= 3:
                break
    model.load_state_dict(best_state)
    test_loss, test_acc = evaluate(xt, yt)
    print(json.dumps({"seed": args.seed, "epochs": epochs, "best_val_loss": best, "test_loss": test_loss,
                      "test_accuracy": test_acc, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
