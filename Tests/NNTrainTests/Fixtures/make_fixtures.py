#!/usr/bin/env python3
"""Generates the PyTorch reference fixtures the Swift tests read (torch is the oracle; the
test suite only reads the committed files, so `make test` never needs torch).

Run with a Python that has torch and safetensors:
    python Tests/NNTrainTests/Fixtures/make_fixtures.py
Writes torch_reference.json and torch_saved.safetensors beside this script.
"""
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
rng = np.random.default_rng(1234)


def tolist(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def optimizer_case(name, make, steps=6):
    """Parameters w [3, 4] (decaying) and b [3] (not decaying) under given raw gradients."""
    w0 = rng.normal(size=(3, 4)).astype(np.float32)
    b0 = rng.normal(size=(3,)).astype(np.float32)
    grads = [(rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32))
             for _ in range(steps)]
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    opt, ours = make(w, b)
    trajectory = []
    for gw, gb in grads:
        w.grad = torch.tensor(gw)
        b.grad = torch.tensor(gb)
        opt.step()
        trajectory.append(tolist(w) + tolist(b))
    return {
        "name": name, "ours": ours,
        "initial": [float(x) for x in list(w0.reshape(-1)) + list(b0)],
        "grads": [[float(x) for x in list(gw.reshape(-1)) + list(gb)] for gw, gb in grads],
        "trajectory": trajectory,
    }


def groups(w, b, wd):
    return [{"params": [w], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}]


optimizers = [
    optimizer_case("sgd", lambda w, b: (torch.optim.SGD([w, b], lr=0.1), {"type": "sgd", "lr": 0.1})),
    optimizer_case("sgd_momentum", lambda w, b: (torch.optim.SGD([w, b], lr=0.05, momentum=0.9),
                                                 {"type": "sgd", "lr": 0.05, "momentum": 0.9})),
    optimizer_case("sgd_dampening", lambda w, b: (torch.optim.SGD([w, b], lr=0.05, momentum=0.8, dampening=0.3),
                                                  {"type": "sgd", "lr": 0.05, "momentum": 0.8, "dampening": 0.3})),
    optimizer_case("sgd_nesterov", lambda w, b: (torch.optim.SGD([w, b], lr=0.05, momentum=0.9, nesterov=True),
                                                 {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True})),
    # torch's SGD weight_decay is coupled L2: nntrain's regularization.l2
    optimizer_case("sgd_momentum_l2", lambda w, b: (torch.optim.SGD(groups(w, b, 0.01), lr=0.05, momentum=0.9),
                                                    {"type": "sgd", "lr": 0.05, "momentum": 0.9, "l2": 0.01})),
    optimizer_case("adam", lambda w, b: (torch.optim.Adam([w, b], lr=0.01), {"type": "adam", "lr": 0.01})),
    optimizer_case("adam_betas", lambda w, b: (torch.optim.Adam([w, b], lr=0.02, betas=(0.8, 0.99), eps=1e-6),
                                               {"type": "adam", "lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-6})),
    optimizer_case("adam_amsgrad", lambda w, b: (torch.optim.Adam([w, b], lr=0.01, amsgrad=True),
                                                 {"type": "adam", "lr": 0.01, "amsgrad": True})),
    # torch's Adam weight_decay is coupled L2: nntrain's regularization.l2
    optimizer_case("adam_l2", lambda w, b: (torch.optim.Adam(groups(w, b, 0.1), lr=0.01),
                                            {"type": "adam", "lr": 0.01, "l2": 0.1})),
    # AdamW's decay is decoupled: nntrain's optimizer.weight_decay
    optimizer_case("adamw", lambda w, b: (torch.optim.AdamW(groups(w, b, 0.1), lr=0.01),
                                          {"type": "adamw", "lr": 0.01, "weight_decay": 0.1})),
]


def schedule_case(name, make, ours, epochs=12, lr=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"name": name, "ours": ours, "epochs": epochs, "lr": lr, "values": lrs}


S = torch.optim.lr_scheduler
schedules = [
    schedule_case("step", lambda o: S.StepLR(o, step_size=3, gamma=0.5), {"type": "step", "step_size": 3, "gamma": 0.5}),
    schedule_case("multistep", lambda o: S.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.1),
                  {"type": "multistep", "milestones": [2, 5, 9], "gamma": 0.1}),
    schedule_case("exponential", lambda o: S.ExponentialLR(o, gamma=0.9), {"type": "exponential", "gamma": 0.9}),
    schedule_case("cosine", lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=0.001),
                  {"type": "cosine", "eta_min": 0.001}),
    schedule_case("cosine_tmax", lambda o: S.CosineAnnealingLR(o, T_max=8), {"type": "cosine", "T_max": 8}),
]

# Linear + ReLU forward/backward and cross-entropy with label smoothing.
x = torch.randn(5, 7)
lin = torch.nn.Linear(7, 4)
xr = x.clone().requires_grad_(True)
y = torch.relu(lin(xr))
upstream = torch.randn(5, 4)
(y * upstream).sum().backward()
dense = {"x": tolist(x), "weight": tolist(lin.weight), "bias": tolist(lin.bias), "upstream": tolist(upstream),
         "y": tolist(y), "dx": tolist(xr.grad), "dweight": tolist(lin.weight.grad), "dbias": tolist(lin.bias.grad)}

logits = torch.randn(6, 5, requires_grad=True)
labels = torch.tensor([0, 3, 4, 1, 1, 2])
ce = {}
for eps in (0.0, 0.1):
    logits.grad = None
    loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=eps)
    loss.backward()
    ce[str(eps)] = {"loss": float(loss), "grad": tolist(logits.grad)}
cross_entropy = {"logits": tolist(logits), "labels": labels.tolist(), "cases": ce}

out = {"torch_version": torch.__version__, "optimizers": optimizers, "schedules": schedules,
       "dense_relu": dense, "cross_entropy": cross_entropy}
with open(os.path.join(HERE, "torch_reference.json"), "w") as f:
    json.dump(out, f, indent=1)

from safetensors.torch import save_file  # noqa: E402
save_file({"layers.1.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
           "layers.1.bias": torch.tensor([-1.5, 2.25])},
          os.path.join(HERE, "torch_saved.safetensors"), metadata={"source": "safetensors.torch"})
print("wrote torch_reference.json and torch_saved.safetensors")
