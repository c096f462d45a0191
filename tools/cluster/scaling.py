#!/usr/bin/env python3
"""Scaling figures for BENCHMARKS.md (issue 24), printed as Markdown tables:

1. One SHD-shaped training step (the paper's network, batch 256, σ mid-schedule) with 1, 2, 4, …
   threads up to the machine's cores (`spikedelay bench --phase train-mid`, median of --runs):
   seconds, speed-up and efficiency over one thread.
2. A sweep of 4 runs of the built-in task: --jobs 1 with all threads vs --jobs N with one thread
   each (wall time of the whole sweep, runs per hour).
3. With a binary built with the `mpi` feature and mpirun: one SHD-recipe epoch (synthetic SHD,
   1,280 training and 320 test samples, evaluation included, train.shards = 2) with 1 and 2
   threads in one process and with 2 processes of 1 thread (`mpirun -np 2`); median of --runs.

    tools/cluster/scaling.py [--runs 3] [--work DIR]     (needs target/release/spikedelay)
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SPIKEDELAY_BIN", str(ROOT / "target" / "release" / "spikedelay"))


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    counts = [n for n in (1, 2, 4, 8, 16, 32) if n <= cores]
    work = Path(args.work or tempfile.mkdtemp())
    print(f"{cpu_name()}, {cores} cores\n")

    print("| threads | SHD training step (s, median) | speed-up | efficiency |")
    print("| --- | --- | --- | --- |")
    base = None
    for n in counts:
        out = subprocess.run([BIN, "bench", "--workload", "shd", "--phase", "train-mid", "--runs",
                              str(args.runs), "--threads", str(n), "--json"],
                             check=True, capture_output=True, text=True).stdout
        s = json.loads(out.strip().splitlines()[-1])["median_s"]
        base = base or s
        print(f"| {n} | {s:.3f} | {base / s:.2f}× | {100 * base / s / n:.0f} % |", flush=True)

    print("\n| sweep of 4 built-in runs | wall time (s) | runs per hour | speed-up |")
    print("| --- | --- | --- | --- |")
    first = None
    for jobs in sorted({1, cores} if cores > 1 else {1}):
        out = work / f"sweep-jobs{jobs}"
        shutil.rmtree(out, ignore_errors=True)
        start = time.time()
        subprocess.run([BIN, "sweep", "--grid", "model.delays=learned,none", "--seeds", "0,1",
                        "--jobs", str(jobs), "--threads", str(cores), "--out", str(out)],
                       check=True, capture_output=True)
        wall = time.time() - start
        first = first or wall
        print(f"| --jobs {jobs} × {cores // jobs} threads | {wall:.1f} | {4 * 3600 / wall:.0f} | "
              f"{first / wall:.2f}× |", flush=True)
    mpi_epochs(args.runs, work, cores)


def mpi_epochs(runs: int, work: Path, cores: int):
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout
    if "mpi" not in version or not shutil.which("mpirun"):
        print("\n(no MPI: build with --features mpi and install openmpi-bin for the process table)")
        return
    data = work / "shd"
    if not (data / "shd_train.h5").is_file():
        subprocess.run([BIN, "data", "make-synthetic", "--format", "shd", str(data),
                        "--train-per-class", "64"], check=True, capture_output=True)
    mpirun = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
    cases = [("1 process × 1 thread", [], 1), ("1 process × 2 threads", [], 2),
             ("2 processes × 1 thread", mpirun + ["-np", "2"], 1)]
    if cores >= 4:
        cases.append(("4 processes × 1 thread", mpirun + ["-np", "4"], 1))
    print("\n| SHD-recipe epoch (1,280 / 320 samples, evaluation included) | seconds (median) | speed-up | efficiency |")
    print("| --- | --- | --- | --- |")
    base = None
    for name, launch, threads in cases:
        procs = int(launch[launch.index("-np") + 1]) if launch else 1
        workers = procs * threads
        times = []
        for r in range(runs):
            out = work / f"mpi-{procs}-{threads}-{r}"
            shutil.rmtree(out, ignore_errors=True)
            subprocess.run(launch + [BIN, "train", "--preset", "shd", "--data-dir", str(data),
                                     "--epochs", "1", "--shards", "4" if cores >= 4 else "2",
                                     "--threads", str(threads), "--out", str(out)],
                           check=True, capture_output=True)
            m = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
            times.append(m["seconds"])
        s = sorted(times)[len(times) // 2]
        base = base or s
        print(f"| {name} | {s:.2f} | {base / s:.2f}× | {100 * base / s / workers:.0f} % |", flush=True)


if __name__ == "__main__":
    main()
