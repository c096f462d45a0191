"""Side-by-side timing of the reference PyTorch stack and spikedelay, in one run, on the same
machine, shapes, inputs and thread counts. Each case runs in its own process (so each peak RSS is
that case's alone); reference and spikedelay alternate case by case so machine noise hits both.

    cargo build --release
    tools/reference/.venv/bin/python tools/reference/bench_side_by_side.py [--configs shd,ssc]
        [--phases train-early,infer] [--sigma 3.27,1.07] [--threads 1,2] [--runs 3] [--warmup 1]

Prints a Markdown table (paste it into BENCHMARKS.md) and writes the raw JSON lines next to it.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPIKEDELAY = ROOT / "target/release/spikedelay"


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="shd,ssc")
    ap.add_argument("--phases", default="train-early,infer")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--sigma", help="comma-separated sigma_eff values, each timed as one more training step")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "target/bench_side_by_side.jsonl"))
    args = ap.parse_args()
    if not SPIKEDELAY.exists():
        sys.exit(f"{SPIKEDELAY} not found: run `cargo build --release` first")

    rows, raw = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs.split(","):
            inp = Path(tmp) / f"{config}_input.safetensors"
            subprocess.run([SPIKEDELAY, "bench", "--workload", config, "--write-input", inp], check=True, capture_output=True)
            # Each phase at its own σ, then one training step at each --sigma value.
            cases = [(phase, None) for phase in args.phases.split(",")]
            cases += [("train-early", s) for s in (args.sigma.split(",") if args.sigma else [])]
            for phase, sigma in cases:
                for threads in args.threads.split(","):
                    common = ["--workload", config, "--phase", phase, "--threads", threads,
                              "--runs", str(args.runs), "--warmup", str(args.warmup), "--input", str(inp)]
                    if sigma is not None:
                        common += ["--sigma", sigma]
                    ref = run_json([sys.executable, HERE / "bench.py", *common])
                    ours = run_json([SPIKEDELAY, "bench", "--json", *common])
                    raw += [ref, ours]
                    rows.append((config, phase if sigma is None else "train", threads, ref, ours))
                    print(f"{config} {phase} σ={ours.get('sigma')} {threads} threads: reference "
                          f"{ref['median_s']:.3f} s, spikedelay {ours['median_s']:.3f} s", file=sys.stderr)
    Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in raw))

    mb = lambda r: r["peak_rss_bytes"] / 2**20
    print("| workload | phase | σ | threads | reference s | spikedelay s | speed-up | reference peak RSS | spikedelay peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for config, phase, threads, ref, ours in rows:
        sigma = "–" if ours.get("sigma") is None else f"{ours['sigma']:.2f}"
        print(f"| {config} | {phase} | {sigma} | {threads} | {ref['median_s']:.3f} | {ours['median_s']:.3f} | "
              f"{ref['median_s'] / ours['median_s']:.2f}× | {mb(ref):.0f} MB | {mb(ours):.0f} MB |")
    print(f"\nmedians of {args.runs} runs after {args.warmup} warm-up; raw results in {args.out}")


if __name__ == "__main__":
    main()
