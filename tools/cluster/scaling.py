#!/usr/bin/env python3
"""Scaling figures for BENCHMARKS.md (issue 24), printed as Markdown tables:

1. One SHD-shaped training step (the paper's network, batch 256, σ mid-schedule) with 1, 2, 4, …
   threads up to the machine's cores (`spikedelay bench --phase train-mid`, median of --runs):
   seconds, speed-up and efficiency over one thread.
2. A sweep of 4 runs of the built-in task: --jobs 1 with all threads vs --jobs N with one thread
   each (wall time of the whole sweep, runs per hour).

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


if __name__ == "__main__":
    main()
