#!/bin/bash
# Runs a sweep on a Slurm cluster: plan, one array task per trial, then collect.
#   configs/sweep/slurm-sweep.sh SWEEP.json SWEEP_DIR [extra sbatch options...]
# SWEEP_DIR must be on a file system every node sees (NFS is fine). Prints the collect job id.
set -euo pipefail
SWEEP=${1:?usage: slurm-sweep.sh SWEEP.json SWEEP_DIR [sbatch options]}
DIR=${2:?usage: slurm-sweep.sh SWEEP.json SWEEP_DIR [sbatch options]}
shift 2
NNTRAIN=${NNTRAIN:-nntrain}
HERE=$(cd "$(dirname "$0")" && pwd)
LAST=$("$NNTRAIN" sweep plan "$SWEEP" --out "$DIR" --json | sed -n 's/.*"last_index": *\([0-9]*\).*/\1/p')
ARRAY=$(sbatch --parsable --array=0-"$LAST" --export=ALL,NNTRAIN="$NNTRAIN" "$@" "$HERE/slurm-array.sbatch" "$DIR")
sbatch --parsable --dependency=afterany:"$ARRAY" --export=ALL --job-name=nntrain-collect \
  --output="$DIR/collect.out" --wrap "\"$NNTRAIN\" sweep collect \"$DIR\""
