"""The runs that the interop checks export: check_onnx.py and check_torch.py share them.

`cases(binary, work)` yields (name, `nntrain run` arguments, test inputs as the data files store
them): configs/quickstart.json (2 epochs), configs/fashion-cnn.json on the shipped subset
(1 epoch), one small config per group of layers (1 epoch on data/fashion-mnist-subset; every
layer type of the registry is covered, checked against the list `nntrain validate` gives), the
recurrent layers on the images' rows as sequences (model.input [28, 28]) and on token ids of
data/wordnet-subset (`representation: "sequence"`, an embedding with padding_idx, so lengths;
test texts include an empty one, of length 0, and ones longer than max_length), a PCA-whitened
run and a CSV run. `predicted(binary, rundir, work, name)` is
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
TEXT = os.path.join(ROOT, "data", "wordnet-subset")
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


def rnn(kind, hidden, **kw):
    return {"type": kind, "hidden_size": hidden, **kw}


# The recurrent layers on the images' 28 rows as steps of 28 features (no lengths: every step valid).
SEQUENCE_CONFIGS = {
    "rows-lstm": [
        rnn("lstm", 12, num_layers=2, bidirectional=True, return_sequences=True, dropout=0.2, recurrent_dropout=0.1),
        {"type": "layer_norm"},
        {"type": "global_max_pool1d"},
        dense(10),
    ],
    "rows-gru-rnn": [
        rnn("rnn", 12, nonlinearity="relu", bias=False, bidirectional=True, return_sequences=True),
        rnn("gru", 12, input_dropout=0.1),
        dense(10),
    ],
    "rows-rnn-pool": [
        rnn("rnn", 12, num_layers=2, return_sequences=True),
        {"type": "global_average_pool1d"},
        dense(10),
    ],
}

# Token ids of data/wordnet-subset (max_length 32; padding_idx 0 gives lengths to the layers after).
TEXT_LENGTH, TEXT_VOCABULARY = 32, 2000
TEXT_CONFIGS = {
    "text-gru": [
        {"type": "embedding", "num_embeddings": TEXT_VOCABULARY, "embedding_dim": 16, "padding_idx": 0},
        rnn("gru", 12, bidirectional=True, return_sequences=True),
        {"type": "global_average_pool1d"},
        dense(8),
    ],
    "text-lstm": [
        {"type": "embedding", "num_embeddings": TEXT_VOCABULARY, "embedding_dim": 16, "padding_idx": 0},
        rnn("lstm", 12, num_layers=2, bidirectional=True),
        dense(8),
    ],
    "text-rnn": [
        {"type": "embedding", "num_embeddings": TEXT_VOCABULARY, "embedding_dim": 16, "padding_idx": 0},
        rnn("rnn", 12, nonlinearity="relu", bias=False, num_layers=2, bidirectional=True, return_sequences=True),
        {"type": "layer_norm"},
        {"type": "dropout", "rate": 0.1},
        {"type": "global_max_pool1d"},
        dense(8),
    ],
    "text-unpadded": [
        {"type": "embedding", "num_embeddings": TEXT_VOCABULARY, "embedding_dim": 8},
        rnn("gru", 12, bias=False, return_sequences=True),
        {"type": "global_max_pool1d"},
        dense(8),
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


def tokens(text):
    """nntrain's word tokens (Tokenizer, lowercase): runs of letters and digits, each other
    non-space character alone. ASCII only: Swift's Character classes are not Python's beyond it."""
    assert text.isascii(), text
    out, word = [], ""
    for c in text.lower():
        if c.isalnum():
            word += c
            continue
        if word:
            out.append(word)
            word = ""
        if not c.isspace():
            out.append(c)
    return out + ([word] if word else [])


def token_ids(rundir, texts):
    """The texts as the run encodes them: float32 [N, TEXT_LENGTH] ids from its vocabulary.json, 0-padded."""
    with open(os.path.join(rundir, "vocabulary.json")) as f:
        ids = {t: i for i, t in enumerate(json.load(f)["tokens"])}
    x = np.zeros((len(texts), TEXT_LENGTH), dtype=np.float32)
    for i, text in enumerate(texts):
        row = [ids.get(t, 1) for t in tokens(text)][:TEXT_LENGTH]
        x[i, :len(row)] = row
    return x


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
    groups = {**LAYER_CONFIGS, **SEQUENCE_CONFIGS, **TEXT_CONFIGS}
    covered = set().union(*(types_in(l) for l in groups.values()))
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

    for name, layers in SEQUENCE_CONFIGS.items():
        path = os.path.join(work, f"{name}.json")
        with open(path, "w") as f:
            json.dump(config(name, layers, model={"input": [28, 28]}), f, indent=1)
        yield name, [path], images

    # Text as token ids: the test texts plus an empty one (length 0) and a long one; the
    # inputs are the ids as nntrain encodes them (float32 [N, max_length]).
    test_csv = os.path.join(work, "wordnet-test.csv")
    with open(os.path.join(TEXT, "test.csv")) as f:
        rows = list(csv.reader(f))[1:]
    rows += [["0", ""], ["1", "!!"], ["2", " ".join(["word"] * 50)]]
    with open(test_csv, "w", newline="") as f:
        csv.writer(f).writerows([["label", "text"]] + rows)
    for name, layers in TEXT_CONFIGS.items():
        path = os.path.join(work, f"{name}.json")
        text = {"tokenize": "words", "min_count": 2, "max_size": TEXT_VOCABULARY, "representation": "sequence", "max_length": TEXT_LENGTH}
        data = {"train": {"format": "text", "path": os.path.join(TEXT, "train.csv")}, "test": {"format": "text", "path": test_csv},
                "text": text, "preprocess": []}
        with open(path, "w") as f:
            json.dump(config(name, layers, data=data, model={"input": [TEXT_LENGTH]}, optimizer={"lr": 0.005}), f, indent=1)
        yield name, [path], lambda rundir: token_ids(rundir, [r[1] for r in rows])

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
