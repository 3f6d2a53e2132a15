"""`nntrain export --format torch` checked with PyTorch itself.

Usage: check_torch.py NNTRAIN_BIN WORK_DIR

Without an importable torch it prints `check_torch: SKIPPED (...)` and exits 0: torch is not
installed for you (the wheel is about 3 GB); point `make test-interop TORCH_PYTHON=…` at a Python
that has torch, numpy and safetensors.

Otherwise it trains the runs of interop_runs.py (those check_onnx.py exports: the quickstart,
fashion-cnn, one small model per group of layers covering every layer type, the recurrent runs
on image rows and token ids, a PCA run and a CSV run), writes each run's model.py, imports it, and checks that `Model().state_dict()` has
exactly model.safetensors' names, shapes and dtypes, that `load(run_dir)` (strict=True) gives a
model in eval mode, and that softmax(model(x)) on the test data, stored values as the data
files hold them, equals `nntrain predict RUN --probabilities` to 1e-5 (absolute). Prints one
line per run with the largest difference; exits 1 on the first failure.
"""

import importlib.util
import os
import sys

TOLERANCE = 1e-5


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        import torch
        import numpy as np
        from safetensors.torch import load_file
    except ImportError as e:  # torch, or numpy / safetensors beside it
        print("check_torch: SKIPPED (torch not importable; pip install torch to run it)")
        print(f"  ({e}; Python {sys.executable})")
        return
    from interop_runs import ROOT, cases, predicted, run

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    binary, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    for name, args, inputs in cases(binary, work):
        rundir = os.path.join(work, name)
        run([binary, "run", *args, "--out", rundir, "--force", "--quiet"], cwd=ROOT)
        out = os.path.join(work, name + "-py")
        run([binary, "export", rundir, "--format", "torch", "--out", out, "--quiet"])
        spec = importlib.util.spec_from_file_location(f"model_{name.replace('-', '_')}", os.path.join(out, "model.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

        # The state_dict of a fresh Model is model.safetensors' own: names, shapes, dtypes.
        want_state = load_file(os.path.join(rundir, "model.safetensors"))
        state = module.Model().state_dict()
        if set(state) != set(want_state):
            sys.exit(f"FAIL {name}: state_dict names differ: only in Model {sorted(set(state) - set(want_state))}, "
                     f"only in model.safetensors {sorted(set(want_state) - set(state))}")
        for k, v in want_state.items():
            if tuple(state[k].shape) != tuple(v.shape) or state[k].dtype != v.dtype:
                sys.exit(f"FAIL {name}: {k} is {state[k].dtype} {tuple(state[k].shape)} in Model, {v.dtype} {tuple(v.shape)} in the file")

        model = module.load(rundir)
        assert not model.training, "load() returns the model in eval mode"
        if callable(inputs):  # a text run's token ids, from the run's vocabulary
            inputs = inputs(rundir)
        x = torch.from_numpy(np.array(inputs))  # a writable copy
        with torch.no_grad():
            got = torch.softmax(model(x), dim=-1).double().numpy()
            # Evaluation mode whatever the flag: the same outputs in training mode.
            again = torch.softmax(model.train()(x), dim=-1).double().numpy()
        want = predicted(binary, rundir, work, name)
        if got.shape != want.shape:
            sys.exit(f"FAIL {name}: Model gave {got.shape}, nntrain predict {want.shape}")
        diff = float(np.max(np.abs(got - want)))
        print(f"{name}: max |torch - nntrain| = {diff:.3g} over {want.size} probabilities; {len(state)} state_dict tensors")
        if not diff <= TOLERANCE:
            sys.exit(f"FAIL {name}: difference {diff} > {TOLERANCE}")
        if not np.array_equal(got, again):
            sys.exit(f"FAIL {name}: the outputs change with model.train()")
    print("check_torch: OK")


if __name__ == "__main__":
    main()
