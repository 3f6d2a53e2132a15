"""`nntrain export --format onnx` checked with ONNX's own checker and ONNX Runtime.

Usage: check_onnx.py NNTRAIN_BIN WORK_DIR

Trains the runs of interop_runs.py: configs/quickstart.json (2 epochs), configs/fashion-cnn.json
on the shipped subset (1 epoch) and one small config per group of layers (1 epoch on
data/fashion-mnist-subset; every layer type of the registry is covered, checked against the list
`nntrain validate` gives; the recurrent layers on image rows and on token ids of
data/wordnet-subset, whose inputs are the ids from the run's vocabulary.json), plus a
PCA-preprocessed run and a CSV run. Each run is exported with
--probabilities, checked with onnx.checker.check_model(full_check=True), run with ONNX Runtime
on its test data, stored values as the data files hold them, and compared with
`nntrain predict RUN --probabilities` to 1e-5 (absolute). Prints one line per run with the
largest difference; exits 1 on the first failure.
"""

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

from interop_runs import ROOT, cases, predicted, run

TOLERANCE = 1e-5


def check(binary, work, name, args, inputs):
    """Trains (args after `run`), exports, predicts and compares; returns the max difference."""
    rundir = os.path.join(work, name)
    run([binary, "run", *args, "--out", rundir, "--force", "--quiet"], cwd=ROOT)
    model_path = os.path.join(rundir, "model.onnx")
    run([binary, "export", rundir, "--format", "onnx", "--probabilities", "--quiet"])
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 8 and model.opset_import[0].version == 17, (model.ir_version, model.opset_import)
    assert [i.name for i in model.graph.input] == ["input"] and [o.name for o in model.graph.output] == ["probabilities"]
    if callable(inputs):  # a text run's token ids, from the run's vocabulary
        inputs = inputs(rundir)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"input": inputs})[0]
    want = predicted(binary, rundir, work, name)
    if got.shape != want.shape:
        sys.exit(f"FAIL {name}: ONNX Runtime gave {got.shape}, nntrain predict {want.shape}")
    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{name}: max |ORT - nntrain| = {diff:.3g} over {want.size} probabilities; ops {', '.join(ops)}")
    if not diff <= TOLERANCE:
        sys.exit(f"FAIL {name}: difference {diff} > {TOLERANCE}")
    return diff


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    for name, args, inputs in cases(binary, work):
        check(binary, work, name, args, inputs)
    print("check_onnx: OK")


if __name__ == "__main__":
    main()
