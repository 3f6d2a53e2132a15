#!/usr/bin/env bash
# Fingerprints of what training writes, for checking that a refactor changed no behaviour:
#
#   bash bench/identity.sh quick OUT.txt   # shipped configs on the shipped subset, 2 epochs
#   bash bench/identity.sh full  OUT.txt   # shipped configs as shipped (needs `make data`)
#
# Each shipped config under configs/ (not the sweeps) trains at 1 and at 2 threads; the generated
# configs of Tests/CLITests/RoundTripTests.swift (every layer, optimizer, schedule and rule) train
# 3 epochs at 1 and 2 threads; the two quickstart sweeps run. OUT gets one line per file: the
# SHA-256 of curves.csv without its `seconds` column, steps.csv, model.safetensors and config.json.
# Run it before and after a change with the same binary flags and `diff` the two files: BLAS sums
# depend on the CPU, so the fingerprints are comparable on one machine only.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?usage: identity.sh quick|full OUT.txt}
OUTFILE=$(realpath -m "${2:?usage: identity.sh quick|full OUT.txt}")
BIN=$PWD/.build/release/nntrain
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
subset=$PWD/data/fashion-mnist-subset
fingerprint() {  # run directory, label
  local d=$1 label=$2
  [ -f "$d/curves.csv" ] && python3 -c "
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
keep = [i for i, h in enumerate(rows[0]) if h != 'seconds']
sys.stdout.write(''.join(','.join(r[i] for i in keep) + '\n' for r in rows))" "$d/curves.csv" | sha256sum | sed "s|-|$label/curves.csv|"
  for f in steps.csv model.safetensors; do
    [ -f "$d/$f" ] && (cd "$d" && sha256sum "$f" | sed "s|  |  $label/|")
  done
  # config.json holds absolute data paths: the checkout's and the test's temporary directory.
  [ -f "$d/config.json" ] && sed -e "s|$ROOT|ROOT|g" -e "s|$WORK|WORK|g" -e 's|nntrain-cli-roundtrip-data-[0-9]*|DATA|g' "$d/config.json" \
    | sha256sum | sed "s|-|$label/config.json|"
  return 0
}
: > "$OUTFILE"
for config in configs/*.json configs/compare/*.json; do
  name=$(echo "${config#configs/}" | tr / -)
  name=${name%.json}
  extra=()
  if [ "$MODE" = quick ]; then
    extra=(--set training.epochs=2
      --set "data.train={\"format\": \"idx\", \"images\": \"$subset/train-images-idx3-ubyte.gz\", \"labels\": \"$subset/train-labels-idx1-ubyte.gz\"}"
      --set "data.test={\"format\": \"idx\", \"images\": \"$subset/t10k-images-idx3-ubyte.gz\", \"labels\": \"$subset/t10k-labels-idx1-ubyte.gz\"}")
  fi
  for t in 1 2; do
    "$BIN" run "$config" "${extra[@]}" --threads $t --out "$WORK/$name-t$t" --force --quiet || echo "exit $? $name-t$t" >> "$OUTFILE"
    fingerprint "$WORK/$name-t$t" "$name-t$t" >> "$OUTFILE"
  done
done
# The generated configs (the test writes one run directory per variant and thread count).
NNTRAIN_BIN=$BIN NNTRAIN_IDENTITY_DIR=$WORK/variants swift test --filter identityRuns >/dev/null
for d in "$WORK"/variants/*/; do
  name=$(basename "$d")
  [ -f "$d/exit" ] && echo "$(cat "$d/exit") $name" >> "$OUTFILE"
  fingerprint "$d" "$name" >> "$OUTFILE"
done
for sweep in configs/sweep/quickstart-lr.json configs/sweep/quickstart-halving.json; do
  name=$(basename "$sweep" .json)
  "$BIN" sweep "$sweep" --out "$WORK/$name" --jobs 1 --threads 1 --quiet || echo "exit $? $name" >> "$OUTFILE"
  for d in "$WORK/$name"/trials/*/; do fingerprint "$d" "$name/$(basename "$d")" >> "$OUTFILE"; done
done
echo "$(wc -l < "$OUTFILE") fingerprints in $OUTFILE"
