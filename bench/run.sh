#!/usr/bin/env bash
# `make bench`: nntrain against PyTorch on the same machine, in the same run, on the same data.
#
#   MLP  configs/fashion-mlp.json (784-512-256-10, dropout 0.2, Adam, batch 128): one epoch of
#        54,000 Fashion-MNIST images at 1 and 2 threads; PyTorch eager Adam and Adam(fused=True)
#        with flush-to-zero; nntrain's GEMM-bound limit (`nntrain bench`: the step's sgemm calls
#        replayed alone) and the fraction of it the real run reaches; peak RSS of both.
#   CNN  configs/fashion-cnn.json without augmentation: one epoch at 1 and 2 threads, eager Adam.
#   LSTM configs/fashion-lstm.json (row-sequential Fashion-MNIST, LSTM(128) → dense 10, Adam,
#        batch 128, clipping at norm 1): one epoch at 1 and 2 threads against bench/torch_lstm.py
#        (nn.LSTM, eager Adam and Adam(fused=True) with flush-to-zero), REPEATS_LSTM rounds
#        (default 3; BENCH_LSTM=0 skips it), and the test accuracy of both after the config's 5
#        epochs, mean over LSTM_ACCURACY_SEEDS seeds (default 3; LSTM_ACCURACY=0 skips that).
#   EVAL forward passes in batches of 1000 over the 60,000 images of the training file (nntrain eval / torch no_grad).
#   ACC  test accuracy of configs/fashion-mlp.json (10 epochs) against its PyTorch transcription
#        (bench/torch_accuracy.py), ACCURACY_SEEDS seeds (default 3; BENCH_ACCURACY=0 skips it).
#   START seconds from data read to the first training step (quickstart), and `nntrain --version`.
#
# The sides alternate REPEATS times (default 5; CNN: REPEATS_CNN, default 3), odd rounds nntrain
# first (nntrain, PyTorch eager, PyTorch fused), even rounds in the mirrored order, so that a
# machine that speeds up or slows down over a pair of rounds favours neither side. The table shows
# medians with [min–max], so a noisy neighbour shows up as spread. The ratios are paired: each
# round's nntrain run ÷ the same round's PyTorch run, the median over the rounds [min–max] (the
# ratios of the medians are printed below the table); "reached" likewise: the median over the
# rounds of (real run ÷ limit measured right after it). PyTorch runs when PYTHON (default python3)
# can import torch (README, "Benchmarks"); it is never needed to build or test. Appends every
# figure to bench/results.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/nntrain
PYTHON=${PYTHON:-python3}
REPEATS=${REPEATS:-5}
REPEATS_CNN=${REPEATS_CNN:-3}
BENCH_CNN=${BENCH_CNN:-1}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

have_torch=0
if "$PYTHON" -c "import torch" 2>/dev/null; then have_torch=1; fi
json() {  # a whole JSON document, or the last line of the output, then the key path $1
  python3 -c "
import json, sys
t = sys.stdin.read().strip()
try: d = json.loads(t)
except ValueError: d = json.loads(t.splitlines()[-1])
print(d$1)"
}
summary() {  # printf format, "v1 v2 …" -> "median min max" in that format, or "n/a n/a n/a" when empty
  tr ' ' '\n' <<<"$2" | { grep . || true; } | sort -g | awk -v f="$1" '{a[NR]=$1} END {if (NR==0) {print "n/a n/a n/a"; exit}
    m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf f " " f " " f "\n", m, a[1], a[NR]}'
}
declare -A S    # samples per side: "name threads" -> "v1 v2 ..."
add() { S["$1"]+="$2 "; }

nntrain_train() {  # config threads extra-sets... -> samples/s
  local cfg=$1 t=$2; shift 2
  "$BIN" run "$cfg" --quiet --force --out "$OUT/run" --threads "$t" --set training.epochs=1 --set data.test=null \
    --set training.early_stopping=null "$@" >/dev/null
  json '["samples_per_second"]' < "$OUT/run/summary.json"
}
torch_run() { "$PYTHON" bench/"$1" "${@:2}" | json "$JSONKEY"; }

echo "nntrain $($BIN --version | cut -d' ' -f2), $(nproc) cores; PyTorch: $([ $have_torch = 1 ] && "$PYTHON" -c 'import torch; print(torch.__version__)' || echo 'not importable')" >&2
JSONKEY='["samples_per_second"]'
mlp_nntrain() {  # the training run, its limit right after it, the fraction reached
  local t=$1 n lim
  n=$(nntrain_train configs/fashion-mlp.json "$t" --set training.eval_batch_size=1000)
  lim=$("$BIN" bench configs/fashion-mlp.json --threads "$t" --steps 100 --json | json '["gemm_limit_samples_per_second"]')
  add "mlp nntrain $t" "$n"; add "mlp limit $t" "$lim"
  add "mlp reached $t" "$(awk -v a="$n" -v b="$lim" 'BEGIN {printf "%.3f", a / b}')"
}
eval_nntrain() {  # evaluates the last training run's weights (round 1 trains before it evaluates)
  add "eval nntrain $1" "$("$BIN" eval "$OUT/run" --threads "$1" --json --data '{"format": "idx", "images": "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "labels": "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"}' | json '["samples_per_second"]')"
}
for ((r = 1; r <= REPEATS; r++)); do
  for t in 1 2; do
    echo "MLP round $r/$REPEATS, $t thread(s)" >&2
    if ((r % 2)); then  # nntrain first: train, limit, eval; then PyTorch: eval, eager, fused
      mlp_nntrain "$t"; eval_nntrain "$t"
      if [ $have_torch = 1 ]; then
        add "eval torch $t" "$(torch_run torch_mlp.py --threads "$t" --eval)"
        add "mlp torch $t" "$(torch_run torch_mlp.py --threads "$t")"
        add "mlp torchfused $t" "$(torch_run torch_mlp.py --threads "$t" --fused)"
      fi
    else                # mirrored: PyTorch fused, eager, eval; then nntrain eval, train, limit
      if [ $have_torch = 1 ]; then
        add "mlp torchfused $t" "$(torch_run torch_mlp.py --threads "$t" --fused)"
        add "mlp torch $t" "$(torch_run torch_mlp.py --threads "$t")"
        add "eval torch $t" "$(torch_run torch_mlp.py --threads "$t" --eval)"
      fi
      eval_nntrain "$t"; mlp_nntrain "$t"
    fi
  done
done
rss_nntrain=$( { /usr/bin/time -f "%M" "$BIN" run configs/fashion-mlp.json --quiet --force --out "$OUT/rss" --threads 2 \
  --set training.epochs=1 --set data.test=null >/dev/null; } 2>&1 | tail -1)
rss_torch=""
[ $have_torch = 1 ] && rss_torch=$("$PYTHON" bench/torch_mlp.py --threads 2 | json '["peak_rss_mb"]' | cut -d. -f1)
if [ "$BENCH_CNN" = 1 ]; then
  for ((r = 1; r <= REPEATS_CNN; r++)); do
    for t in 1 2; do
      echo "CNN round $r/$REPEATS_CNN, $t thread(s) (about a minute a side)" >&2
      ((r % 2)) || { [ $have_torch = 0 ] || add "cnn torch $t" "$(torch_run torch_cnn.py --threads "$t")"; }
      n=$(nntrain_train configs/fashion-cnn.json "$t" --set 'data.augment=[]')
      lim=$("$BIN" bench configs/fashion-cnn.json --threads "$t" --steps 10 --json | json '["gemm_limit_samples_per_second"]')
      add "cnn nntrain $t" "$n"; add "cnn limit $t" "$lim"
      add "cnn reached $t" "$(awk -v a="$n" -v b="$lim" 'BEGIN {printf "%.3f", a / b}')"
      ((r % 2 == 0)) || { [ $have_torch = 0 ] || add "cnn torch $t" "$(torch_run torch_cnn.py --threads "$t")"; }
    done
  done
fi
REPEATS_LSTM=${REPEATS_LSTM:-3}
if [ "${BENCH_LSTM:-1}" = 1 ]; then
  for ((r = 1; r <= REPEATS_LSTM; r++)); do
    for t in 1 2; do
      echo "LSTM round $r/$REPEATS_LSTM, $t thread(s) (about 10 s a run)" >&2
      if ((r % 2)); then
        add "lstm nntrain $t" "$(nntrain_train configs/fashion-lstm.json "$t")"
        [ $have_torch = 0 ] || { add "lstm torch $t" "$(torch_run torch_lstm.py --threads "$t")"
                                 add "lstm torchfused $t" "$(torch_run torch_lstm.py --threads "$t" --fused)"; }
      else
        [ $have_torch = 0 ] || { add "lstm torchfused $t" "$(torch_run torch_lstm.py --threads "$t" --fused)"
                                 add "lstm torch $t" "$(torch_run torch_lstm.py --threads "$t")"; }
        add "lstm nntrain $t" "$(nntrain_train configs/fashion-lstm.json "$t")"
      fi
    done
  done
  if [ $have_torch = 1 ] && [ "${LSTM_ACCURACY:-1}" = 1 ]; then
    for ((s = 1; s <= ${LSTM_ACCURACY_SEEDS:-3}; s++)); do
      echo "LSTM accuracy, seed $s/${LSTM_ACCURACY_SEEDS:-3}: configs/fashion-lstm.json and its PyTorch transcription, 5 epochs each" >&2
      "$BIN" run configs/fashion-lstm.json --quiet --force --out "$OUT/lacc" --threads 2 --set seed=$s >/dev/null
      add "lacc nntrain" "$(json '["test_accuracy"]' < "$OUT/lacc/summary.json")"
      add "lacc torch" "$("$PYTHON" bench/torch_lstm.py --accuracy --seed $s --threads 2 | json '["test_accuracy"]')"
    done
  fi
fi
# Same accuracy: configs/fashion-mlp.json in full (10 epochs, early stopping) and its PyTorch
# transcription (bench/torch_accuracy.py), ACCURACY_SEEDS seeds each, test accuracy.
ACCURACY_SEEDS=${ACCURACY_SEEDS:-3}
if [ $have_torch = 1 ] && [ "${BENCH_ACCURACY:-1}" = 1 ]; then
  for ((s = 1; s <= ACCURACY_SEEDS; s++)); do
    echo "accuracy, seed $s/$ACCURACY_SEEDS (about a minute)" >&2
    "$BIN" run configs/fashion-mlp.json --quiet --force --out "$OUT/acc" --threads 2 --set seed=$s >/dev/null
    add "acc nntrain" "$(json '["test_accuracy"]' < "$OUT/acc/summary.json")"
    add "acc torch" "$("$PYTHON" bench/torch_accuracy.py --seed $s --threads 2 | json '["test_accuracy"]')"
  done
fi
# Start-up: seconds from data read to the first step (median of 5), and --version.
for i in 1 2 3 4 5; do
  "$BIN" run configs/quickstart.json --quiet --force --out "$OUT/q" --threads 1 >/dev/null
  add "start first_step" "$(json '["seconds_to_first_step"]' < "$OUT/q/summary.json" | awk '{printf "%.1f", $1 * 1000}')"
  s=$(date +%s%N); "$BIN" --version >/dev/null; e=$(date +%s%N)
  add "start version" "$(awk -v a="$s" -v b="$e" 'BEGIN {printf "%.1f", (b - a) / 1e6}')"
done

med() { summary %.0f "${S[$1]:-}"; }
ratio() { [ "$1" = n/a ] || [ "$2" = n/a ] && printf "n/a" || awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else printf "n/a"}'; }
cell() { read -r m lo hi <<<"$(med "$1")"; [ "$m" = "n/a" ] && echo "n/a" || echo "$m [$lo–$hi]"; }
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//;s/,/ /g')
blas=$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)
torchv=$([ $have_torch = 1 ] && "$PYTHON" -c "import torch; print(torch.__version__)" || echo none)
header="date,machine,cores,openblas,torch,benchmark,threads,nntrain,torch_eager,torch_fused,ratio_eager,ratio_fused,gemm_limit,fraction_of_limit,repeats,paired_eager,paired_fused"
if [ -f bench/results.csv ] && [ "$(head -1 bench/results.csv)" != "$header" ]; then  # columns of an older version
  mv bench/results.csv "bench/results-before-$date.csv"; echo "(bench/results.csv had other columns: moved to bench/results-before-$date.csv)"
fi
[ -f bench/results.csv ] || echo "$header" > bench/results.csv

echo
echo "Training throughput, samples/s: median [min–max] of $REPEATS (CNN: $REPEATS_CNN, LSTM: $REPEATS_LSTM)"
echo "×eager, ×fused: nntrain ÷ PyTorch per round (the same round's runs), median [min–max]"
printf "%-5s %-3s %-22s %-22s %-22s %-17s %-17s %-22s %-8s\n" model thr nntrain "pytorch eager" "pytorch fused+FTZ" "×eager" "×fused" "GEMM-bound limit" "reached"
rounds() {  # "a1 a2 …" "b1 b2 …" -> "a1/b1 a2/b2 …"
  awk -v a="$1" -v b="$2" 'BEGIN {n = split(a, x, " "); split(b, y, " "); for (i = 1; i <= n; i++) printf "%.3f ", (y[i] > 0 ? x[i] / y[i] : 0)}'
}
pcell() { [ "$1" = "n/a" ] && echo "n/a" || echo "$1 [$2–$3]"; }
declare -A OFMED  # ratios of the medians, printed after the table
for model in mlp cnn lstm eval; do
  for t in 1 2; do
    [ -n "${S["$model nntrain $t"]:-}" ] || continue
    read -r n _ _ <<<"$(med "$model nntrain $t")"
    read -r te _ _ <<<"$(med "$model torch $t")"
    read -r tf _ _ <<<"$(med "$model torchfused $t")"
    read -r lim _ _ <<<"$(med "$model limit $t")"
    re=$(ratio "$n" "$te"); rf=$(ratio "$n" "$tf")
    OFMED["$model $t"]="$re / $rf"
    read -r pe pelo pehi <<<"$(summary %.2f "$([ -n "${S["$model torch $t"]:-}" ] && rounds "${S["$model nntrain $t"]}" "${S["$model torch $t"]}")")"
    read -r pf pflo pfhi <<<"$(summary %.2f "$([ -n "${S["$model torchfused $t"]:-}" ] && rounds "${S["$model nntrain $t"]}" "${S["$model torchfused $t"]}")")"
    read -r reached _ _ <<<"$(summary %.2f "${S["$model reached $t"]:-}")"
    printf "%-5s %-3s %-22s %-22s %-22s %-17s %-17s %-22s %-8s\n" "$model" "$t" "$(cell "$model nntrain $t")" "$(cell "$model torch $t")" \
      "$(cell "$model torchfused $t")" "$(pcell "$pe" "$pelo" "$pehi")" "$(pcell "$pf" "$pflo" "$pfhi")" "$(cell "$model limit $t")" "$reached"
    echo "$date,$cpu,$(nproc),$blas,$torchv,$model,$t,$n,$te,$tf,$re,$rf,$lim,$reached,$(case $model in cnn) echo $REPEATS_CNN;; lstm) echo $REPEATS_LSTM;; *) echo $REPEATS;; esac),$pe,$pf" >> bench/results.csv
  done
done
echo "(eval: forward passes in batches of 1000 over the 60,000 images of the training file, samples/s)"
[ $have_torch = 1 ] && echo "ratios of the medians (× eager / × fused): $(for k in "mlp 1" "mlp 2" "cnn 1" "cnn 2" "lstm 1" "lstm 2" "eval 1" "eval 2"; do
  [ -n "${OFMED[$k]:-}" ] && printf "%s %s; " "$k" "${OFMED[$k]}"; done)"
echo "per round, in order (odd rounds nntrain first, even rounds PyTorch first; a limit far above its run"
echo "marks a phase change of the machine between the two):"
for model in mlp cnn lstm eval; do
  for t in 1 2; do
    [ -n "${S["$model nntrain $t"]:-}" ] || continue
    line="  $model $t: nntrain ${S["$model nntrain $t"]}"
    [ -n "${S["$model limit $t"]:-}" ] && line+="| limit ${S["$model limit $t"]}| reached ${S["$model reached $t"]}"
    [ -n "${S["$model torch $t"]:-}" ] && line+="| × eager $(rounds "${S["$model nntrain $t"]}" "${S["$model torch $t"]}")"
    [ -n "${S["$model torchfused $t"]:-}" ] && line+="| × fused $(rounds "${S["$model nntrain $t"]}" "${S["$model torchfused $t"]}")"
    echo "$line"
  done
done
echo
echo "peak RSS of a fashion-mlp epoch (2 threads): nntrain $((rss_nntrain / 1024)) MB$([ -n "$rss_torch" ] && echo ", PyTorch $rss_torch MB")"
read -r fs fslo fshi <<<"$(summary %.1f "${S["start first_step"]}")"
read -r vs vslo vshi <<<"$(summary %.1f "${S["start version"]}")"
echo "start-up: data read → first training step $fs ms [$fslo–$fshi] (quickstart); nntrain --version $vs ms [$vslo–$vshi]"
if [ -n "${S["acc nntrain"]:-}" ]; then
  meanrange() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1; t+=$1} END {printf "%.4f %.4f %.4f\n", t/NR, a[1], a[NR]}'; }
  read -r an anlo anhi <<<"$(meanrange "${S["acc nntrain"]}")"
  read -r at atlo athi <<<"$(meanrange "${S["acc torch"]}")"
  echo "test accuracy of configs/fashion-mlp.json, mean [min–max] of $ACCURACY_SEEDS seeds: nntrain $an [$anlo–$anhi], PyTorch $at [$atlo–$athi]; difference $(awk -v a="$an" -v b="$at" 'BEGIN {printf "%+.2f", (a - b) * 100}') points"
  echo "$date,$cpu,$(nproc),$blas,$torchv,test_accuracy,2,$an,$at,,,,,,$ACCURACY_SEEDS,," >> bench/results.csv
fi
if [ -n "${S["lacc nntrain"]:-}" ]; then
  lmr() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1; t+=$1} END {printf "%.4f %.4f %.4f %d\n", t/NR, a[1], a[NR], NR}'; }
  read -r an anlo anhi ln <<<"$(lmr "${S["lacc nntrain"]}")"
  read -r at atlo athi _ <<<"$(lmr "${S["lacc torch"]}")"
  echo "test accuracy of configs/fashion-lstm.json (5 epochs), mean [min–max] of $ln seeds: nntrain $an [$anlo–$anhi], PyTorch $at [$atlo–$athi]; difference $(awk -v a="$an" -v b="$at" 'BEGIN {printf "%+.2f", (a - b) * 100}') points"
  echo "$date,$cpu,$(nproc),$blas,$torchv,lstm_test_accuracy,2,$an,$at,,,,,,$ln,," >> bench/results.csv
fi
echo "$date,$cpu,$(nproc),$blas,$torchv,rss_mb,2,$((rss_nntrain / 1024)),$rss_torch,,,,,,1,," >> bench/results.csv
echo "$date,$cpu,$(nproc),$blas,$torchv,first_step_ms,1,$fs,,,,,,,5,," >> bench/results.csv
echo "$date,$cpu,$(nproc),$blas,$torchv,version_ms,1,$vs,,,,,,,5,," >> bench/results.csv
[ $have_torch = 1 ] || echo "(PyTorch not importable by $PYTHON: see README, 'Benchmarks', to compare side by side)"
echo "appended to bench/results.csv"
