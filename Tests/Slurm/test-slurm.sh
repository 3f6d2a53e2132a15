#!/bin/bash
# `make test-slurm`: runs the shipped Slurm example (configs/sweep/slurm-sweep.sh) for a tiny
# sweep through a real one-node Slurm cluster on this machine, then checks that trials.csv and
# best.json match the same sweep run locally with --jobs 1 (same BLAS thread count: 1).
#
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge (installed when missing and
# apt-get works). Skips with a visible message when it cannot set the cluster up.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${NNTRAIN_BIN:-$ROOT/.build/release/nntrain}
WORK=${SLURM_TEST_DIR:-/tmp/nntrain-slurm-test}
skip() { echo "test-slurm: SKIPPED: $*"; exit 0; }
fail() { echo "test-slurm: FAILED: $*"; for f in /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

[ -x "$BIN" ] || fail "no nntrain binary at $BIN (run make build)"
[ "$(id -u)" = 0 ] || skip "needs root to start munged, slurmctld and slurmd"
if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || skip "Slurm is not installed and apt-get is missing"
  echo "test-slurm: installing slurmctld slurmd slurm-client munge"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null) \
    || skip "could not install Slurm with apt-get"
fi

HOST=$(hostname -s)
CPUS=$(nproc)
# --- munge: a key, and munged running as the munge user.
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force >/dev/null
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
munge_here=0
if ! pgrep -x munged >/dev/null; then
  munge_here=1
  if command -v runuser >/dev/null; then runuser -u munge -- /usr/sbin/munged || skip "munged did not start"
  else su -s /bin/sh munge -c /usr/sbin/munged || skip "munged did not start"; fi
fi
munge -n | unmunge >/dev/null 2>&1 || skip "munge does not work on this machine"

# --- a one-node cluster.
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=nntrain-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=$HOST CPUs=$CPUS State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
started_here=0
if ! pgrep -x slurmctld >/dev/null; then slurmctld -c >/dev/null 2>&1 || skip "slurmctld did not start"; started_here=1; fi
if ! pgrep -x slurmd >/dev/null; then slurmd >/dev/null 2>&1 || skip "slurmd did not start"; started_here=1; fi
cleanup() {
  if [ "$started_here" = 1 ]; then scontrol shutdown >/dev/null 2>&1; fi
  if [ "$munge_here" = 1 ]; then sleep 1; pkill -x munged; fi
}
trap cleanup EXIT
ready=0
for _ in $(seq 1 60); do
  if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then ready=1; break; fi
  scontrol update nodename="$HOST" state=resume >/dev/null 2>&1
  sleep 1
done
[ "$ready" = 1 ] || skip "the Slurm node did not come up ($(sinfo -h 2>&1 | head -1))"
echo "test-slurm: one-node cluster on $HOST with $CPUS CPUs is up"

# --- the sweep: through Slurm with the shipped script, and locally.
rm -rf "$WORK"; mkdir -p "$WORK"
cat > "$WORK/sweep.json" <<JSON
{"name": "slurm-test", "config": "$ROOT/configs/quickstart.json", "seed": 11, "run_cap": 4,
 "metric": {"name": "val_accuracy"},
 "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
                "model.layers.1.units": {"values": [16, 32, 64]}, "training.epochs": {"value": 2}}}
JSON
cd "$WORK"
collect_job=$(NNTRAIN="$BIN" bash "$ROOT/configs/sweep/slurm-sweep.sh" "$WORK/sweep.json" "$WORK/slurm" --output="$WORK/task-%a.out") \
  || fail "slurm-sweep.sh failed"
echo "test-slurm: submitted; collect job $collect_job"
for _ in $(seq 1 300); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 1
done
if [ -n "$(squeue -h)" ]; then
  # Jobs that never started point at the cluster set-up on this machine, not at nntrain.
  ls "$WORK"/task-*.out >/dev/null 2>&1 || { scancel --user=root >/dev/null 2>&1; skip "Slurm accepted the jobs but started none in 300 s ($(squeue -h -o '%T %r' | head -1))"; }
  fail "jobs still queued after 300 s: $(squeue -h | head -3)"
fi
[ -f "$WORK/slurm/trials.csv" ] || fail "collect wrote no trials.csv ($(cat "$WORK/slurm/collect.out" 2>/dev/null))"
ls "$WORK"/task-*.out >/dev/null 2>&1 || fail "no array task ran"
grep -q "completed" "$WORK/slurm/trials.csv" || fail "no trial completed: $(cat "$WORK/slurm/trials.csv")"

"$BIN" sweep "$WORK/sweep.json" --out "$WORK/local" --jobs 1 --threads 1 --quiet || fail "the local sweep failed"
strip() { python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
i = rows[0].index("seconds")
for r in rows: print(",".join(r[:i] + r[i+1:]))
PY
}
if ! diff <(strip "$WORK/slurm/trials.csv") <(strip "$WORK/local/trials.csv"); then
  fail "trials.csv through Slurm differs from the local sweep"
fi
cmp -s "$WORK/slurm/best.json" "$WORK/local/best.json" || fail "best.json differs"
echo "test-slurm: $(($(wc -l < "$WORK/slurm/trials.csv") - 1)) trials through sbatch --array match the local sweep (values and metrics)"
strip "$WORK/slurm/trials.csv"

# --- a sweep with repeats: the array ranges over run_cap × repeats trials, and configs.csv
# (the mean over the repeats) through Slurm equals the local one.
cat > "$WORK/repeats.json" <<JSON
{"name": "slurm-repeats", "config": "$ROOT/configs/quickstart.json", "seed": 11, "run_cap": 2, "repeats": 2,
 "metric": {"name": "val_accuracy"},
 "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}, "training.epochs": {"value": 1}}}
JSON
NNTRAIN="$BIN" bash "$ROOT/configs/sweep/slurm-sweep.sh" "$WORK/repeats.json" "$WORK/slurm-repeats" --output="$WORK/repeats-%a.out" >/dev/null \
  || fail "slurm-sweep.sh failed for the sweep with repeats"
for _ in $(seq 1 300); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h 2>/dev/null)" ] || fail "jobs of the sweep with repeats still queued after 300 s: $(squeue -h | head -3)"
[ -f "$WORK/slurm-repeats/configs.csv" ] || fail "collect wrote no configs.csv ($(cat "$WORK/slurm-repeats/collect.out" 2>/dev/null))"
"$BIN" sweep "$WORK/repeats.json" --out "$WORK/local-repeats" --jobs 1 --threads 1 --quiet || fail "the local sweep with repeats failed"
for f in trials.csv configs.csv; do
  diff <(strip "$WORK/slurm-repeats/$f") <(strip "$WORK/local-repeats/$f") \
    || fail "$f of the sweep with repeats through Slurm differs from the local sweep"
done
cmp -s "$WORK/slurm-repeats/best.json" "$WORK/local-repeats/best.json" || fail "best.json of the sweep with repeats differs"
[ "$(($(wc -l < "$WORK/slurm-repeats/trials.csv") - 1))" = 4 ] || fail "expected 4 trials (2 configurations × 2 repeats) in trials.csv"
echo "test-slurm: 2 configurations × 2 repeats through sbatch --array=0-3 match the local sweep (trials.csv, configs.csv, best.json)"
