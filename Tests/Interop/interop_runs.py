"""The runs that the interop checks export: check_onnx.py and check_torch.py share them.

`cases(binary, work)` yields (name, `nntrain run` arguments, test inputs as the data files store
them): configs/quickstart.json (2 epochs), configs/fashion-cnn.json on the shipped subset
(1 epoch), one small config per group of layers (1 epoch on data/fashion-mnist-subset; every
layer type of the registry is covered, checked against the list `nntrain validate` gives), a
PCA-whitened run and a CSV run. `predicted(binary, rundir, work, name)` is
`nntrain predict RUN --probabilities` as a float64 array.
"""

import csv
import gzip
import json
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUBSET = os.path.join(ROOT, "data", "fashion-mnist-subset")
TRAIN = {"format": "idx", "images": f"{SUBSET}/train-images-idx3-ubyte.gz", "labels": f"{SUBSET}/train-labels-idx1-ubyte.gz"}
TEST = {"format": "idx", "images": f"{SUBSET}/t10k-images-idx3-ubyte.gz", "labels": f"{SUBSET}/t10k-labels-idx1-ubyte.gz"}


def conv(out, **kw):
    return {"type": "conv2d", "out_channels": out, "kernel_size": 3, **kw}


def dense(units, **kw):
    return {"type": "dense", "units": units, **kw}


# One small model per group of layers; together they hold every layer type and activation.
LAYER_CONFIGS = {
    "conv-pool": [
        conv(4, activation={"type": "elu", "alpha": 0.5}, bias=False),
        {"type": "max_pool2d", "kernel_size": 2},
        conv(6, stride=2, padding=1, weight_norm=True, activation="gelu"),
        {"type": "avg_pool2d", "kernel_size": 2, "stride": 1},
        conv(6, dilation=2, padding=[2, 1], activation={"type": "gelu", "approximate": "tanh"}),
        {"type": "max_pool2d", "kernel_size": [3, 2], "stride": [2, 1]},
        {"type": "global_avg_pool"},
        dense(10),
    ],
    "norms": [
        conv(8),
        {"type": "batch_norm"},
        {"type": "relu"},
        {"type": "local_response_norm", "size": 5, "alpha": 0.01, "beta": 0.75, "k": 2},
        {"type": "local_response_norm", "size": 4, "alpha": 0.02},
        {"type": "layer_norm"},
        {"type": "max_pool2d", "kernel_size": 2},
        {"type": "layer_norm", "affine": False},
        {"type": "flatten"},
        dense(32),
        {"type": "batch_norm", "affine": False},
        {"type": "prelu", "slopes": "per_channel"},
        {"type": "local_response_norm", "size": 3},
        dense(10),
    ],
    "activations": [
        {"type": "flatten"},
        dense(48, activation="sigmoid"),
        dense(48, activation="tanh"),
        {"type": "leaky_relu", "alpha": 0.1},
        dense(32, activation={"type": "softplus", "beta": 2, "threshold": 5}),
        {"type": "elu"},
        dense(32, activation="silu"),
        {"type": "gelu"},
        dense(32, activation={"type": "leaky_relu", "alpha": 0.2}),
        {"type": "softplus"},
        dense(32),
        {"type": "silu"},
        dense(32),
        {"type": "swish"},
        dense(32, activation="relu"),
        {"type": "softsign"},
        dense(32),
        {"type": "rrelu"},
        dense(32),
        {"type": "prelu"},
        dense(32),
        {"type": "sigmoid"},
        dense(32),
        {"type": "tanh"},
        dense(32),
        {"type": "activation", "activation": "relu"},
        {"type": "maxout", "units": 16, "pieces": 3},
        {"type": "dropout", "rate": 0.2},
        dense(10, weight_norm=True),
    ],
    "residual": [
        conv(4, activation="relu"),
        {"type": "residual", "layers": [conv(4, activation="relu"), conv(4)]},
        {"type": "residual", "layers": [conv(8, stride=2, padding=1, activation="relu"), conv(8)]},
        {"type": "global_avg_pool"},
        dense(16, activation="relu"),
        {"type": "residual", "layers": [dense(16, activation="relu"), dense(16)]},
        {"type": "residual", "layers": [dense(12, activation="relu", bias=False)]},
        dense(10),
    ],
}


def config(name, layers, **extra):
    c = {
        "name": name, "seed": 7,
        "data": {"train": TRAIN, "test": TEST, "validation_split": 0.1, "preprocess": [{"type": "standardize", "per": "feature"}]},
        "model": {"input": [1, 28, 28], "init": "he_normal", "layers": layers},
        "loss": {"type": "cross_entropy"},
        "optimizer": {"type": "adam", "lr": 0.001},
        "training": {"epochs": 1, "batch_size": 64},
    }
    for k, v in extra.items():
        c[k].update(v)
    return c


def types_in(layers):
    out = set()
    for l in layers:
        out.add(l["type"])
        if l["type"] == "activation":
            out.add(l["activation"])
        if l["type"] == "residual":
            out |= types_in(l["layers"])
    return out


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} exited {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def idx_images(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    x = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)
    return x.reshape(dims[0], 1, *dims[1:]) if rank == 3 else x


def predicted(binary, rundir, work, name):
    """`nntrain predict rundir --probabilities` as float64 [examples, classes]."""
    pred = os.path.join(work, name + ".csv")
    run([binary, "predict", rundir, "--probabilities", "--out", pred, "--quiet"])
    with open(pred) as f:
        rows = list(csv.reader(f))
    cols = [i for i, h in enumerate(rows[0]) if re.fullmatch(r"p\d+", h)]
    return np.array([[float(r[i]) for i in cols] for r in rows[1:]], dtype=np.float64)


def cases(binary, work):
    """Yields (name, run arguments, inputs); checks first that the configs cover every layer type."""
    os.makedirs(work, exist_ok=True)
    images = idx_images(TEST["images"])

    # Every layer type nntrain knows (as `validate` lists them) is in one of the configs.
    probe = os.path.join(work, "probe.json")
    with open(probe, "w") as f:
        json.dump(config("probe", [{"type": "no-such-layer"}]), f)
    p = subprocess.run([binary, "validate", probe], capture_output=True, text=True)
    m = re.search(r"expected one of ([^\n]*), got", p.stdout + p.stderr)
    assert m, p.stdout + p.stderr
    known = set(m.group(1).split(", "))
    covered = set().union(*(types_in(l) for l in LAYER_CONFIGS.values()))
    missing = known - covered
    if missing:
        sys.exit(f"FAIL: no config covers the layer types {sorted(missing)}")

    yield "quickstart", ["configs/quickstart.json", "--set", "training.epochs=2"], images
    yield "fashion-cnn", ["configs/fashion-cnn.json", "--set", "training.epochs=1",
                          "--set", "data.train=" + json.dumps(TRAIN), "--set", "data.test=" + json.dumps(TEST)], images
    for name, layers in LAYER_CONFIGS.items():
        path = os.path.join(work, f"layers-{name}.json")
        with open(path, "w") as f:
            json.dump(config(f"layers-{name}", layers), f, indent=1)
        yield f"layers-{name}", [path], images

    # PCA (whitened) after standardising: the projection as a MatMul, model.input [k].
    path = os.path.join(work, "pca.json")
    with open(path, "w") as f:
        json.dump(config("pca", [dense(32, activation="relu"), dense(10)],
                         data={"preprocess": [{"type": "standardize"}, {"type": "pca", "components": 40, "whiten": True}]},
                         model={"input": [40]}), f)
    yield "pca", [path], images

    # A CSV run: float32 [N, F] input, minmax scaling.
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(3, 6)) * 2
    for split, n in (("train", 600), ("test", 150)):
        labels = rng.integers(0, 3, size=n)
        x = centres[labels] + rng.normal(size=(n, 6)) * 3 + 10
        with open(os.path.join(work, f"blobs-{split}.csv"), "w") as f:
            f.write("label," + ",".join(f"x{j}" for j in range(6)) + "\n")
            for lab, row in zip(labels, x):
                f.write(f"{lab}," + ",".join(f"{v:.6g}" for v in row) + "\n")
    csv_source = lambda s: {"format": "csv", "path": os.path.join(work, f"blobs-{s}.csv"), "label_column": 0}
    path = os.path.join(work, "csv.json")
    with open(path, "w") as f:
        json.dump(config("csv", [dense(16, activation="tanh"), dense(3)],
                         data={"train": csv_source("train"), "test": csv_source("test"), "preprocess": [{"type": "minmax", "range": [-1, 1]}]},
                         model={"input": [6]}), f)
    test_rows = np.loadtxt(os.path.join(work, "blobs-test.csv"), delimiter=",", skiprows=1, dtype=np.float32)
    yield "csv", [path], np.ascontiguousarray(test_rows[:, 1:])
