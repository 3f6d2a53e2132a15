#!/usr/bin/env python3
"""Checks a run's TensorBoard event file with TensorBoard's own reader.

    python3 Tests/Interop/check_tensorboard.py RUN_DIR

Loads RUN_DIR with tensorboard's EventAccumulator and compares its scalars with the run's
steps.csv (tags step/loss, step/lr, step/grad_norm at each row's step) and curves.csv (loss,
accuracy, val_loss, val_accuracy, lr at each epoch's last step), to float32 precision.
Exits 1 with the differences listed, 0 when everything matches.
"""
import csv
import math
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator


def f32(text):
    """A CSV cell as TensorBoard keeps it: a float32 (nan and inf included)."""
    return struct.unpack("<f", struct.pack("<f", float(text)))[0]


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_tensorboard.py RUN_DIR")
    run = sys.argv[1]
    acc = event_accumulator.EventAccumulator(run, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    scalars = {t: {e.step: e.value for e in acc.Scalars(t)} for t in tags}
    for t in tags:
        if len(scalars[t]) != len(acc.Scalars(t)):
            sys.exit(f"tag {t}: a step appears more than once")

    expected = {}
    with open(f"{run}/steps.csv") as f:
        for row in csv.DictReader(f):
            step = int(row["step"])
            for col in ("loss", "lr", "grad_norm"):
                if row[col] != "":
                    expected.setdefault("step/" + col, {})[step] = f32(row[col])
    with open(f"{run}/curves.csv") as f:
        for row in csv.DictReader(f):
            step = int(row["step"])
            for col in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
                if row.get(col, "") != "":
                    expected.setdefault(col, {})[step] = f32(row[col])

    problems = []
    if tags != set(expected):
        problems.append(f"tags: event file has {sorted(tags)}, the CSV files give {sorted(expected)}")
    for tag in sorted(set(expected) & tags):
        want, got = expected[tag], scalars[tag]
        if sorted(want) != sorted(got):
            problems.append(f"{tag}: steps {sorted(got)} in the event file, {sorted(want)} in the CSV files")
            continue
        for step in sorted(want):
            if not same(want[step], got[step]):
                problems.append(f"{tag} at step {step}: {got[step]} in the event file, {want[step]} in the CSV files")
    if not expected.get("step/loss") or not expected.get("loss"):
        problems.append("the run logged no steps or no epochs")
    if problems:
        print("\n".join(["FAIL: " + p for p in problems]))
        sys.exit(1)
    n = sum(len(v) for v in expected.values())
    print(f"ok: {len(tags)} tags, {n} scalars in {run} match steps.csv and curves.csv")


if __name__ == "__main__":
    main()
