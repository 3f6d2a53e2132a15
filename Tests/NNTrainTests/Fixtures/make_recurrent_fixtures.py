#!/usr/bin/env python3
"""Generates the PyTorch reference for nntrain's recurrent layers (torch is the oracle; the test
suite only reads the committed JSON, so `make test` never needs torch).

Run with a Python that has torch:
    python Tests/NNTrainTests/Fixtures/make_recurrent_fixtures.py
Writes recurrent_reference.json beside this script: for each case, torch.nn.RNN/LSTM/GRU
(batch_first) with its initial parameters, then a trajectory of 3 steps of plain SGD (lr 0.1)
on L = sum(r * y) with a new batch each step: the output y, dL/dx and every parameter's
gradient before each update. Sequences with lengths go through pack_padded_sequence, as
nntrain's masks do; the final state is h_n (forward direction after the last valid step,
backward direction after step 0, concatenated).
"""
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
rng = np.random.default_rng(2026)


def tolist(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def case(name, kind, hidden, features=3, steps=5, batch=3, layers=1, bidirectional=False, sequences=False,
         lengths=None, nonlinearity="tanh", bias=True):
    make = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    kw = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    m = make(features, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=True, bias=bias, **kw)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.6, 0.6, size=p.shape).astype(np.float32)))
    out = {
        "kind": kind, "nonlinearity": nonlinearity, "hidden_size": hidden, "features": features, "steps": steps,
        "num_layers": layers, "bidirectional": bidirectional, "return_sequences": sequences, "bias": bias,
        "lengths": lengths, "params": {n: tolist(p) for n, p in m.named_parameters()}, "steps_sgd": [],
    }
    for _ in range(3):
        x = torch.tensor(rng.normal(size=(batch, steps, features)).astype(np.float32), requires_grad=True)
        if lengths is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
            y_packed, state = m(packed)
            y_seq, _ = torch.nn.utils.rnn.pad_packed_sequence(y_packed, batch_first=True, total_length=steps)
        else:
            y_seq, state = m(x)
        h_n = state[0] if kind == "lstm" else state
        if sequences:
            y = y_seq
        else:
            y = torch.cat([h_n[-2], h_n[-1]], dim=1) if bidirectional else h_n[-1]
        r = torch.tensor(rng.uniform(-1, 1, size=y.shape).astype(np.float32))
        m.zero_grad()
        (y * r).sum().backward()
        out["steps_sgd"].append({
            "x": tolist(x), "upstream": tolist(r), "y": tolist(y), "dx": tolist(x.grad),
            "grads": {n: tolist(p.grad) for n, p in m.named_parameters()},
        })
        with torch.no_grad():
            for p in m.parameters():
                p -= 0.1 * p.grad
    out["final_params"] = {n: tolist(p) for n, p in m.named_parameters()}
    return name, out


cases = dict([
    case("lstm", "lstm", 4),
    case("gru", "gru", 4),
    case("rnn_tanh", "rnn", 4),
    case("rnn_relu", "rnn", 4, nonlinearity="relu"),
    case("lstm_bidirectional_2_layers_sequences", "lstm", 3, layers=2, bidirectional=True, sequences=True),
    case("gru_bidirectional_2_layers", "gru", 3, layers=2, bidirectional=True),
    case("gru_no_bias", "gru", 3, bias=False),
    case("lstm_masked_bidirectional", "lstm", 3, bidirectional=True, lengths=[5, 3, 1]),
    case("gru_masked_sequences", "gru", 4, sequences=True, lengths=[2, 5, 4]),
    case("rnn_masked_2_layers_bidirectional", "rnn", 3, layers=2, bidirectional=True, lengths=[4, 1, 5]),
])

with open(os.path.join(HERE, "recurrent_reference.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
print("wrote", len(cases), "cases")
