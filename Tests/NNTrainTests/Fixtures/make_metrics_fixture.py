#!/usr/bin/env python3
"""Generates metrics_fixture.json, scikit-learn's figures on a fixed random case, for
ClassificationMetricsTests (scikit-learn is the oracle; the tests only read the committed file).

Run with a Python that has numpy and scikit-learn:
    python Tests/NNTrainTests/Fixtures/make_metrics_fixture.py

The case: 200 examples, 10 classes. Labels are drawn from classes 0..8, so class 9 has no
examples; class 8's scores are pushed down so that it is never predicted. Scores are softmax
probabilities rounded to float32 (the type nntrain scores in), written exactly, with no tie in
any row (scikit-learn's top-k breaks ties differently from argmax; see ClassificationMetrics).
"""
import json
import warnings
import os

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, confusion_matrix, precision_recall_fscore_support,
                             top_k_accuracy_score)

warnings.simplefilter("ignore")  # top_k_accuracy_score warns that k = K is a perfect score: it is meant to be
HERE = os.path.dirname(os.path.abspath(__file__))
N, K = 200, 10
KS = [1, 3, 5, 10]
rng = np.random.default_rng(20240611)

labels = rng.integers(0, K - 1, size=N)              # class 9: no examples
logits = rng.normal(size=(N, K))
logits[np.arange(N), labels] += 1.5                  # better than chance, far from perfect
logits[:, 8] -= 6.0                                  # class 8: never predicted
e = np.exp(logits - logits.max(axis=1, keepdims=True))
probs = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
assert all(len(set(row.tolist())) == K for row in probs), "a tie in a row"

predicted = probs.argmax(axis=1)
classes = list(range(K))
assert 8 not in predicted and 9 not in labels and 8 in labels
p, r, f, s = precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)


def average(kind):
    a = precision_recall_fscore_support(labels, predicted, labels=classes, average=kind, zero_division=0)
    return {"precision": float(a[0]), "recall": float(a[1]), "f1": float(a[2])}


fixture = {
    "generator": f"make_metrics_fixture.py, scikit-learn {sklearn.__version__}, numpy {np.__version__}",
    "classes": K,
    "labels": [int(x) for x in labels],
    # float32 values as Python floats: exact, so Float(x) in Swift is the same number.
    "probabilities": [float(x) for x in probs.reshape(-1)],
    "accuracy": float(accuracy_score(labels, predicted)),
    "top_k": {f"top_{k}": float(top_k_accuracy_score(labels, probs, k=k, labels=classes)) for k in KS},
    "precision": [float(x) for x in p],
    "recall": [float(x) for x in r],
    "f1": [float(x) for x in f],
    "support": [int(x) for x in s],
    "macro": average("macro"),
    "weighted": average("weighted"),
    "confusion_matrix": confusion_matrix(labels, predicted, labels=classes).tolist(),
}
with open(os.path.join(HERE, "metrics_fixture.json"), "w") as out:
    # One key a line: small diffs, a file that still opens in an editor.
    out.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in fixture.items()) + "\n}\n")
print("accuracy", fixture["accuracy"], "top_k", fixture["top_k"], "macro", fixture["macro"])
