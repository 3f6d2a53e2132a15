#!/usr/bin/env python3
"""Generates the PyTorch reference fixtures the Swift tests read (torch is the oracle; the
test suite only reads the committed files, so `make test` never needs torch).

Run with a Python that has torch and safetensors:
    python Tests/NNTrainTests/Fixtures/make_fixtures.py
Writes torch_reference.json and torch_saved.safetensors beside this script.
"""
import json
import math
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
rng = np.random.default_rng(1234)


def tolist(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def optimizer_case(name, make, steps=25):
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
    optimizer_case("nadam", lambda w, b: (torch.optim.NAdam([w, b], lr=0.01), {"type": "nadam", "lr": 0.01})),
    optimizer_case("nadam_decay", lambda w, b: (torch.optim.NAdam([w, b], lr=0.02, betas=(0.85, 0.99), momentum_decay=0.01),
                                                {"type": "nadam", "lr": 0.02, "betas": [0.85, 0.99], "momentum_decay": 0.01})),
    optimizer_case("adagrad", lambda w, b: (torch.optim.Adagrad([w, b], lr=0.1), {"type": "adagrad", "lr": 0.1})),
    optimizer_case("adagrad_decay", lambda w, b: (torch.optim.Adagrad([w, b], lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1),
                                                  {"type": "adagrad", "lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.1})),
    optimizer_case("rmsprop", lambda w, b: (torch.optim.RMSprop([w, b], lr=0.01), {"type": "rmsprop", "lr": 0.01})),
    optimizer_case("rmsprop_centered_momentum", lambda w, b: (torch.optim.RMSprop([w, b], lr=0.01, alpha=0.9, momentum=0.8, centered=True),
                                                              {"type": "rmsprop", "lr": 0.01, "alpha": 0.9, "momentum": 0.8, "centered": True})),
    optimizer_case("adadelta", lambda w, b: (torch.optim.Adadelta([w, b]), {"type": "adadelta"})),
    optimizer_case("adadelta_lr", lambda w, b: (torch.optim.Adadelta(groups(w, b, 0.01), lr=0.5, rho=0.8),
                                                {"type": "adadelta", "lr": 0.5, "rho": 0.8, "l2": 0.01})),
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
def per_step_case(name, make, ours, steps, lr=0.1, epochs=12, steps_per_epoch=7):
    """A scheduler stepped after every optimizer step (CyclicLR, OneCycleLR)."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"name": name, "ours": ours, "epochs": epochs, "steps_per_epoch": steps_per_epoch, "lr": lr, "per_step": lrs}


schedules = [
    schedule_case("step", lambda o: S.StepLR(o, step_size=3, gamma=0.5), {"type": "step", "step_size": 3, "gamma": 0.5}),
    schedule_case("multistep", lambda o: S.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.1),
                  {"type": "multistep", "milestones": [2, 5, 9], "gamma": 0.1}),
    schedule_case("exponential", lambda o: S.ExponentialLR(o, gamma=0.9), {"type": "exponential", "gamma": 0.9}),
    schedule_case("cosine", lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=0.001),
                  {"type": "cosine", "eta_min": 0.001}),
    schedule_case("cosine_tmax", lambda o: S.CosineAnnealingLR(o, T_max=8), {"type": "cosine", "T_max": 8}),
    schedule_case("linear", lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.01, total_iters=8),
                  {"type": "linear", "end_factor": 0.01, "total_iters": 8}),
    schedule_case("inverse_time", lambda o: S.LambdaLR(o, lambda t: 1 / (1 + 0.5 * t)), {"type": "inverse_time", "decay_rate": 0.5}),
    schedule_case("natural_exp", lambda o: S.LambdaLR(o, lambda t: math.exp(-0.1 * t)), {"type": "natural_exp", "decay_rate": 0.1}),
    schedule_case("cosine_restarts", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
                  {"type": "cosine_restarts", "T_0": 3, "T_mult": 2, "eta_min": 0.001}),
    per_step_case("cyclic", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False),
                  {"type": "cyclic", "max_lr": 0.1, "step_size_up": 5}, steps=40, lr=0.01),
    per_step_case("cyclic_triangular2", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, mode="triangular2", cycle_momentum=False),
                  {"type": "cyclic", "max_lr": 0.1, "step_size_up": 4, "mode": "triangular2"}, steps=40, lr=0.01),
    per_step_case("cyclic_exp_range", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.97, cycle_momentum=False),
                  {"type": "cyclic", "max_lr": 0.1, "step_size_up": 4, "mode": "exp_range", "gamma": 0.97}, steps=40, lr=0.01),
    per_step_case("one_cycle", lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=84, cycle_momentum=False),
                  {"type": "one_cycle"}, steps=84),
    per_step_case("one_cycle_linear_three_phase", lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=84, anneal_strategy="linear", three_phase=True, pct_start=0.25, cycle_momentum=False),
                  {"type": "one_cycle", "anneal_strategy": "linear", "three_phase": True, "pct_start": 0.25}, steps=84),
]


def plateau_case():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=1e-4, cooldown=1, min_lr=0.01)
    values = [1.0, 0.9, 0.95, 0.95, 0.96, 0.8, 0.85, 0.86, 0.87, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96]
    lrs = []
    for v in values:
        sched.step(v)
        lrs.append(opt.param_groups[0]["lr"])
    return {"ours": {"type": "reduce_on_plateau", "monitor": "val_loss", "factor": 0.5, "patience": 2, "cooldown": 1, "min_lr": 0.01},
            "lr": 0.1, "values": values, "lr_after": lrs}


activation_x = [-30.0, -6.0, -3.0, -1.5, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 1.5, 2.9, 3.1, 6.0, 12.0, 30.0]
activation_fns = {
    "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
    "leaky_relu_0.1": lambda x: torch.nn.functional.leaky_relu(x, 0.1),
    "elu_1.3": lambda x: torch.nn.functional.elu(x, 1.3),
    "softplus": torch.nn.functional.softplus,
    "softplus_2_3": lambda x: torch.nn.functional.softplus(x, beta=2, threshold=3),
    "gelu": torch.nn.functional.gelu, "gelu_tanh": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "silu": torch.nn.functional.silu,
}
activations = {}
for name, fn in activation_fns.items():
    x = torch.tensor(activation_x, requires_grad=True)
    y = fn(x)
    y.sum().backward()
    activations[name] = {"y": tolist(y), "dy": tolist(x.grad)}

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
# nntrain's smoothing ε puts ε/(K−1) on each wrong class; PyTorch's ε' puts ε'/K: ε' = ε·K/(K−1).
K = 5
for eps in (0.0, 0.1):
    logits.grad = None
    loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=eps * K / (K - 1))
    loss.backward()
    ce[str(eps)] = {"loss": float(loss.detach()), "grad": tolist(logits.grad)}
weights = torch.tensor([0.5, 2.0, 1.0, 3.0, 0.25])
logits.grad = None
loss = torch.nn.functional.cross_entropy(logits, labels, weight=weights)
loss.backward()
ce["weighted"] = {"loss": float(loss.detach()), "grad": tolist(logits.grad), "weights": weights.tolist()}
cross_entropy = {"logits": tolist(logits), "labels": labels.tolist(), "cases": ce}

def norm_case(module, shape, steps=2):
    """Training forwards/backwards (running statistics), then an evaluation forward."""
    torch.manual_seed(5)
    for name, prm in module.named_parameters():
        with torch.no_grad():
            prm.copy_(torch.randn_like(prm) * 0.5 + (1.0 if name.endswith("weight") else 0.0))
    xs = [torch.randn(*shape) * 2 + 0.5 for _ in range(steps)]
    module.train()
    case = {"params": {n: tolist(p) for n, p in module.named_parameters()}, "steps": []}
    for x in xs:
        x = x.clone().requires_grad_(True)
        module.zero_grad()
        y = module(x)
        up = torch.randn(*y.shape)
        (y * up).sum().backward()
        case["steps"].append({"x": tolist(x), "upstream": tolist(up), "y": tolist(y), "dx": tolist(x.grad),
                              "grads": {n: tolist(p.grad) for n, p in module.named_parameters()}})
    case["buffers"] = {n: tolist(b.float()) for n, b in module.named_buffers()}
    module.eval()
    xe = torch.randn(*shape)
    case["eval"] = {"x": tolist(xe), "y": tolist(module(xe))}
    return case


norms = {
    "batch_norm_1d": norm_case(torch.nn.BatchNorm1d(4), (6, 4)),
    "batch_norm_2d": norm_case(torch.nn.BatchNorm2d(3, momentum=0.2), (4, 3, 2, 2)),
    "layer_norm": norm_case(torch.nn.LayerNorm(5), (3, 5)),
    "lrn": norm_case(torch.nn.LocalResponseNorm(3, alpha=0.1, beta=0.75, k=2.0), (2, 6, 2, 2)),
}
norms["conv_bn_pool"] = norm_case(torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.BatchNorm2d(3),
                                                     torch.nn.ReLU(), torch.nn.MaxPool2d(2)), (4, 2, 6, 6))
torch.manual_seed(6)
wn = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3), dim=0)
with torch.no_grad():
    wn.weight_g.copy_(torch.tensor([[0.5], [2.0], [1.5]]))
xw = torch.randn(5, 4, requires_grad=True)
yw = wn(xw)
upw = torch.randn(5, 3)
(yw * upw).sum().backward()
norms["weight_norm"] = {"params": {"weight_g": tolist(wn.weight_g), "weight_v": tolist(wn.weight_v), "bias": tolist(wn.bias)},
                        "x": tolist(xw), "upstream": tolist(upw), "y": tolist(yw), "dx": tolist(xw.grad),
                        "grads": {"weight_g": tolist(wn.weight_g.grad), "weight_v": tolist(wn.weight_v.grad), "bias": tolist(wn.bias.grad)}}

out = {"torch_version": torch.__version__, "norms": norms, "optimizers": optimizers, "schedules": schedules,
       "plateau": plateau_case(), "activations": {"x": activation_x, "functions": activations},
       "dense_relu": dense, "cross_entropy": cross_entropy}
with open(os.path.join(HERE, "torch_reference.json"), "w") as f:
    json.dump(out, f, indent=1)

from safetensors.torch import save_file  # noqa: E402
save_file({"layers.1.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
           "layers.1.bias": torch.tensor([-1.5, 2.25])},
          os.path.join(HERE, "torch_saved.safetensors"), metadata={"source": "safetensors.torch"})
print("wrote torch_reference.json and torch_saved.safetensors")
