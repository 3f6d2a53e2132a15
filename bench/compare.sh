#!/usr/bin/env bash
# Two nntrain binaries on the same work, paired rounds in one run (for a change that must not be
# slower, e.g. a refactor):
#
#   bash bench/compare.sh BEFORE_BIN AFTER_BIN        (ROUNDS, default 4; BENCH_CNN=0 skips the CNN)
#
# Each round runs both binaries on: one epoch of configs/fashion-mlp.json (54,000 images, eval
# batch 1000) at 1 and 2 threads, evaluation of the training file (60,000 images), one epoch of
# configs/fashion-cnn.json without augmentation at 1 and 2 threads, and the start-up of the
# quickstart (seconds from data read to the first step). Odd rounds run BEFORE first, even rounds
# AFTER first. Prints, per figure, the medians and the median of the paired ratios after/before
# with [min–max] (above 1: AFTER is faster). Needs the full Fashion-MNIST (`make data`).
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "${1:?usage: compare.sh BEFORE_BIN AFTER_BIN}")
B=$(realpath "${2:?usage: compare.sh BEFORE_BIN AFTER_BIN}")
ROUNDS=${ROUNDS:-4}
BENCH_CNN=${BENCH_CNN:-1}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
key() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
train() {  # bin config threads extra... -> samples/s
  local bin=$1 cfg=$2 t=$3; shift 3
  "$bin" run "$cfg" --quiet --force --out "$OUT/run" --threads "$t" --set training.epochs=1 --set data.test=null \
    --set training.early_stopping=null "$@" >/dev/null
  key "$OUT/run/summary.json" samples_per_second
}
evaluate() {  # bin threads -> samples/s (the last training run's weights)
  "$1" eval "$OUT/run" --threads "$2" --json --data '{"format": "idx", "images": "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "labels": "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"}' \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['samples_per_second'])"
}
startup() {  # bin -> ms from data read to first step (inverted below: higher is better for ratios)
  "$1" run configs/quickstart.json --quiet --force --out "$OUT/q" --threads 1 --set training.epochs=1 >/dev/null
  key "$OUT/q/summary.json" seconds_to_first_step
}
declare -A S
measure() {  # side bin
  local side=$1 bin=$2
  for t in 1 2; do
    S["mlp $t $side"]+="$(train "$bin" configs/fashion-mlp.json $t --set training.eval_batch_size=1000) "
    S["eval $t $side"]+="$(evaluate "$bin" $t) "
    if [ "$BENCH_CNN" = 1 ]; then S["cnn $t $side"]+="$(train "$bin" configs/fashion-cnn.json $t --set 'data.augment=[]') "; fi
  done
  S["start-up $side"]+="$(python3 -c "print(1 / $(startup "$bin"))") "
}
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS" >&2
  if ((r % 2)); then measure before "$A"; measure after "$B"; else measure after "$B"; measure before "$A"; fi
done
python3 - "$ROUNDS" <<PY
import statistics as st, sys
S = {$(for k in "${!S[@]}"; do printf '"%s": "%s",' "$k" "${S[$k]}"; done)}
print(f"{'figure':<12} {'before':>10} {'after':>10}   after/before, paired: median [min–max]")
for name in ["mlp 1", "mlp 2", "eval 1", "eval 2", "cnn 1", "cnn 2", "start-up"]:
    if name + " before" not in S: continue
    a = [float(x) for x in S[name + " before"].split()]; b = [float(x) for x in S[name + " after"].split()]
    r = [y / x for x, y in zip(a, b)]
    unit = "1/s" if name == "start-up" else "samples/s"
    print(f"{name:<12} {st.median(a):>10.1f} {st.median(b):>10.1f}   {st.median(r):.3f} [{min(r):.3f}–{max(r):.3f}]  ({unit}; {len(r)} rounds)")
PY
