#!/usr/bin/env bash
# The scale-out check with the real engines (issue 24): starts a one-node Slurm cluster
# (tools/cluster/slurm-up.sh; installs Debian's slurm-wlm and munge when missing), submits a
# 2-point × 2-seed sweep of the built-in task (learned / none delays) through sbatch, waits for
# the job array, checks `spikedelay report`, and compares every run with the same sweep trained
# here without Slurm: identical results (summaries, records, checkpoint tensors). Then requeues
# the finished array and checks that the tasks skip their finished runs. With a binary built
# with the `mpi` feature (and OpenMPI installed), one run across processes: `mpirun -np 2` and,
# through sbatch, `srun --mpi=pmix -n 2` must equal one process bit for bit.
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

if "$bin" --version | grep -q mpi && command -v mpirun >/dev/null; then
  echo "== one run across processes: mpirun -np 2, and srun -n 2 inside an sbatch job"
  cat > "$work/mpi.toml" <<'TOML'
[train]
epochs = 3
shards = 2
TOML
  run=(train --config "$work/mpi.toml" --threads 1)
  "$bin" "${run[@]}" --out "$work/mpi-one" > "$work/mpi-one.log"
  mpirun --allow-run-as-root --oversubscribe -np 2 "$bin" "${run[@]}" --out "$work/mpi-two" \
    | tee "$work/mpi-two.log" | grep "data parallel"
  grep -q "data parallel: MPI, 2 processes" "$work/mpi-two.log"
  python3 tools/cluster/compare_runs.py "$work/mpi-one" "$work/mpi-two"
  out="$(sbatch --parsable -n 2 --cpus-per-task=1 --output="$work/srun.log" \
    --wrap "srun --mpi=pmix $bin ${run[*]} --out $work/mpi-srun")"
  job3="${out%%;*}"
  for _ in $(seq 1 300); do
    [ -z "$(squeue -h -j "$job3" 2>/dev/null)" ] && break
    sleep 1
  done
  grep -q "data parallel: MPI, 2 processes" "$work/srun.log" || {
    echo "srun -n 2 did not run as two MPI processes:" >&2; cat "$work/srun.log" >&2; exit 1; }
  python3 tools/cluster/compare_runs.py "$work/mpi-one" "$work/mpi-srun"
else
  echo "== skipped MPI: $bin was built without the mpi feature or mpirun is missing"
fi
echo "all cluster checks passed"
