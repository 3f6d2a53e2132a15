#!/usr/bin/env bash
# `make bench`: training throughput of the fashion-mlp config (one epoch, Adam, batch 128) at
# 1 and 2 BLAS threads, side by side with PyTorch when a Python with torch is importable
# (PYTHON=/path/to/python; default python3). Sides alternate and repeat (REPEATS, default 3);
# medians are reported with min–max. Writes bench/results.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/nntrain
PYTHON=${PYTHON:-python3}
REPEATS=${REPEATS:-3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

have_torch=0
if "$PYTHON" -c "import torch" 2>/dev/null; then have_torch=1; fi

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f %.0f %.0f\n", m, a[1], a[NR]}'; }

nntrain_once() {  # threads
  "$BIN" run configs/fashion-mlp.json --quiet --force --out "$OUT/run" --threads "$1" \
    --set training.epochs=1 --set data.test=null >/dev/null
  sed -n 's/.*"samples_per_second": \([0-9.]*\).*/\1/p' "$OUT/run/summary.json"
}
nntrain_rss() {
  /usr/bin/time -f "%M" "$BIN" run configs/fashion-mlp.json --quiet --force --out "$OUT/run" --threads 2 \
    --set training.epochs=1 --set data.test=null 2>&1 >/dev/null | tail -1
}
torch_once() {  # threads [--fused]
  "$PYTHON" bench/torch_mlp.py --threads "$@" | sed -n 's/.*"samples_per_second": \([0-9.]*\).*/\1/p'
}

declare -A samples
for threads in 1 2; do
  for ((r = 0; r < REPEATS; r++)); do
    samples[nntrain_$threads]+="$(nntrain_once $threads) "
    if [ $have_torch = 1 ]; then
      samples[torch_$threads]+="$(torch_once $threads) "
      samples[torchfused_$threads]+="$(torch_once $threads --fused) "
    fi
  done
done

date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//;s/,/ /g')
blas=$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)
torchv=$([ $have_torch = 1 ] && "$PYTHON" -c "import torch; print(torch.__version__)" || echo none)
rss_kb=$(command -v /usr/bin/time >/dev/null && nntrain_rss || echo "")

echo
echo "fashion-mlp training, 1 epoch of 54000 examples, batch 128, Adam (samples/s: median [min–max] of $REPEATS)"
printf "%-8s %-26s %-26s %-26s %-10s %-10s\n" threads nntrain "pytorch (eager Adam)" "pytorch (fused Adam, FTZ)" "ratio" "ratio fused"
[ -f bench/results.csv ] || echo "date,machine,openblas,torch,threads,nntrain_sps,torch_sps,torch_fused_sps,ratio,ratio_fused,nntrain_peak_rss_kb" > bench/results.csv
for threads in 1 2; do
  read -r n nlo nhi < <(tr ' ' '\n' <<<"${samples[nntrain_$threads]}" | grep . | median)
  t=""; tf=""; ratio=""; ratiof=""
  if [ $have_torch = 1 ]; then
    read -r t tlo thi < <(tr ' ' '\n' <<<"${samples[torch_$threads]}" | grep . | median)
    read -r tf tflo tfhi < <(tr ' ' '\n' <<<"${samples[torchfused_$threads]}" | grep . | median)
    ratio=$(awk -v a="$n" -v b="$t" 'BEGIN {printf "%.2f", a/b}')
    ratiof=$(awk -v a="$n" -v b="$tf" 'BEGIN {printf "%.2f", a/b}')
  fi
  printf "%-8s %-26s %-26s %-26s %-10s %-10s\n" "$threads" "$n [$nlo–$nhi]" \
    "${t:+$t [$tlo–$thi]}" "${tf:+$tf [$tflo–$tfhi]}" "${ratio:-n/a}" "${ratiof:-n/a}"
  echo "$date,$cpu,$blas,$torchv,$threads,$n,${t},${tf},${ratio},${ratiof},${rss_kb}" >> bench/results.csv
done
[ -n "$rss_kb" ] && echo "nntrain peak RSS (2 threads): $((rss_kb / 1024)) MB"
# The CNN (configs/fashion-cnn.json without augmentation): one epoch at 2 threads, once each
# (≈1 min a side); BENCH_CNN=0 skips it.
if [ "${BENCH_CNN:-1}" = 1 ]; then
  cnn=$("$BIN" run configs/fashion-cnn.json --quiet --force --out "$OUT/cnn" --threads 2 --set training.epochs=1 \
        --set data.test=null --set 'data.augment=[]' --set training.early_stopping=null >/dev/null &&
        sed -n 's/.*"samples_per_second": \([0-9.]*\).*/\1/p' "$OUT/cnn/summary.json")
  tcnn=""
  [ $have_torch = 1 ] && tcnn=$("$PYTHON" bench/torch_cnn.py --threads 2 | sed -n 's/.*"samples_per_second": \([0-9.]*\).*/\1/p')
  ratio=$([ -n "$tcnn" ] && awk -v a="$cnn" -v b="$tcnn" 'BEGIN {printf "%.2f", a/b}' || echo n/a)
  echo
  echo "fashion-cnn training, 1 epoch, batch 128, Adam, 2 threads (samples/s, one run each)"
  printf "%-12s %-12s %-8s\n" nntrain pytorch ratio
  printf "%-12s %-12s %-8s\n" "$cnn" "${tcnn:-n/a}" "$ratio"
  echo "$date,$cpu,$blas,$torchv,cnn-2,$cnn,$tcnn,,$ratio,," >> bench/results.csv
fi
[ $have_torch = 1 ] || echo "(PyTorch not importable by $PYTHON: see README, 'Benchmarks', to compare side by side)"
echo "appended to bench/results.csv"
