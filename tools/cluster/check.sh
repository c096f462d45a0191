#!/usr/bin/env bash
# The scale-out check with the real engines (issue 24): starts a one-node Slurm cluster
# (tools/cluster/slurm-up.sh; installs Debian's slurm-wlm and munge when missing), submits a
# 2-point × 2-seed sweep of the built-in task (learned / none delays) through sbatch, waits for
# the job array, checks `spikedelay report`, and compares every run with the same sweep trained
# here without Slurm: identical results (summaries, records, checkpoint tensors). Then requeues
# the finished array and checks that the tasks skip their finished runs.
#
#   tools/cluster/check.sh [WORK_DIR]     (needs target/release/spikedelay: cargo build --release)
# Prints "all cluster checks passed" at the end; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${SPIKEDELAY_BIN:-$PWD/target/release/spikedelay}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
[ -x "$bin" ] || { echo "no $bin: build it with cargo build --release" >&2; exit 1; }

tools/cluster/slurm-up.sh "$work/slurm-state"
trap 'tools/cluster/slurm-down.sh >/dev/null' EXIT

cat > "$work/base.toml" <<'TOML'
[train]
epochs = 4
TOML
grid=(--config "$work/base.toml" --grid model.delays=learned,none --seeds 0,1)

echo "== sweep through sbatch"
out="$("$bin" sweep "${grid[@]}" --out "$work/slurm-sweep" --slurm \
  --slurm-opt=--cpus-per-task=1 --slurm-opt=--time=10 --submit)"
echo "$out"
job="$(echo "$out" | sed -n 's/^submitted job array \([0-9]*\).*/\1/p')"
[ -n "$job" ] || { echo "no job id in sbatch's answer" >&2; exit 1; }
for _ in $(seq 1 600); do
  [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
  sleep 1
done
if [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; then
  echo "job $job still queued after 10 minutes" >&2; squeue >&2; exit 1
fi
for i in 0 1 2 3; do
  grep -q " done: test " "$work/slurm-sweep/slurm/${job}_$i.out" || {
    echo "array task $i did not finish its run:" >&2
    cat "$work/slurm-sweep/slurm/${job}_$i.out" >&2; exit 1; }
done
"$bin" report "$work/slurm-sweep" | tee "$work/report.md"
grep -q "| learned | 2/2 |" "$work/report.md"
grep -q "| none | 2/2 |" "$work/report.md"

echo "== the same sweep here, without Slurm (one thread per run, as each task had)"
"$bin" sweep "${grid[@]}" --out "$work/local-sweep" --jobs 2 --threads 2 > "$work/local.log"
python3 tools/cluster/compare_runs.py "$work/slurm-sweep" "$work/local-sweep"
"$bin" report "$work/slurm-sweep" --format csv | cut -d, -f1-9 > "$work/a.csv"
"$bin" report "$work/local-sweep" --format csv | cut -d, -f1-9 > "$work/b.csv"
cmp "$work/a.csv" "$work/b.csv"

echo "== a requeued array finds its runs finished"
out="$(sbatch --parsable "$work/slurm-sweep/sweep.sbatch")"
job2="${out%%;*}"
for _ in $(seq 1 300); do
  [ -z "$(squeue -h -j "$job2" 2>/dev/null)" ] && break
  sleep 1
done
for i in 0 1 2 3; do
  grep -q "finished earlier" "$work/slurm-sweep/slurm/${job2}_$i.out" || {
    echo "array task $i of the second submission did not skip its finished run" >&2
    cat "$work/slurm-sweep/slurm/${job2}_$i.out" >&2; exit 1; }
done
python3 tools/cluster/compare_runs.py "$work/slurm-sweep" "$work/local-sweep"
echo "all cluster checks passed"
