#!/usr/bin/env bash
# The GPU machine's one prepared run (docs/design.md §9, BENCHMARKS.md "GPU"): on a machine with
# an NVIDIA GPU, its driver and NVIDIA's CUDA 13 libraries (cuBLAS, NVRTC: the pip packages
# PyTorch brings are enough), torch, and no Rust toolchain or network. It prints one table last:
#   1. parity of one training step, CUDA against the CPU, on every fixture (tests/device.rs);
#   2. a 3-epoch SHD-shaped run (8 156 / 2 264 samples, the shd preset) on the GPU and on the CPU:
#      accuracy, seconds per epoch, and the 150-epoch run extrapolated;
#   3. training steps and inference batches at the SHD and SSC presets' shapes (σ early, mid,
#      late) on the GPU, the SSC-shaped epoch extrapolated (590 steps of 128 and the evaluation
#      of 30 363 samples), peak GPU memory;
#   4. the reference's own training step (dcls + spikingjelly on torch) on the same GPU.
# Build the bundle first on a development machine (tools/gpu/bundle.sh, into target/gpu/) and
# carry target/gpu with the working tree. Everything is written under $OUT (or a temp folder).
# CHECK_DEVICE=software CHECK_RUNS=1 CHECK_EPOCHS=1 rehearses it on a machine without a GPU (slow, CPU torch).
#   tools/gpu/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
bin=$root/target/gpu/spikedelay
tests=$root/target/gpu/tests
[ -x "$bin" ] && [ -x "$tests" ] || { echo "target/gpu/ is missing: run tools/gpu/bundle.sh first" >&2; exit 2; }
py=${PYTHON:-python3}
device=${CHECK_DEVICE:-cuda}
runs=${CHECK_RUNS:-5}
torch_device=$([ "$device" = cuda ] && echo cuda || echo cpu)

# CUDA's libraries where pip put them (nvidia-cublas, nvidia-cuda-nvrtc), and the driver's folder.
libs=$("$py" - <<'EOF'
import os, site, sys
dirs = set()
for base in site.getsitepackages() + [site.getusersitepackages()]:
    for top, _, files in os.walk(os.path.join(base, "nvidia")):
        if any(f.startswith(("libcublas.so", "libnvrtc.so")) for f in files):
            dirs.add(top)
print(":".join(sorted(dirs)))
EOF
)
for d in /usr/local/nvidia/lib64 /usr/local/cuda/lib64; do [ -d "$d" ] && libs="$libs:$d"; done
export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
  gpu=$(head -n 1 "$out/gpu.txt" | cut -d, -f1)
  # GPU memory, sampled every 200 ms while the steps below run.
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$out/gpu-memory.csv" 2>/dev/null &
  sampler=$!
  trap 'kill $sampler 2>/dev/null || true' EXIT
else
  gpu="$device (no nvidia-smi)"
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
threads=$(nproc)

# 1. Parity.
SPIKEDELAY_MANIFEST_DIR=$root/crates/spikedelay "$tests" device:: --nocapture --test-threads 1 \
  >"$out/parity.log" 2>&1 || parity_failed=1
grep -o "PARITY $device .*" "$out/parity.log" >"$out/parity.txt" || true

# 2. SHD-shaped runs, 3 epochs each: the GPU, then the CPU with every core.
"$bin" data make-synthetic --format shd --train-per-class 408 --test-per-class 113 "$out/shd" >/dev/null
for dev in "$device" cpu; do
  "$bin" train --preset shd --data-dir "$out/shd" --epochs "${CHECK_EPOCHS:-3}" --device "$dev" --out "$out/run-$dev" \
    >"$out/run-$dev.log" 2>&1 || echo "the $dev run failed: see $out/run-$dev.log" >&2
done

# 3. Training steps and inference batches at the presets' shapes on the GPU.
for w in shd ssc; do
  "$bin" bench --workload "$w" --write-input "$out/$w-input.safetensors" >/dev/null
  "$bin" bench --workload "$w" --input "$out/$w-input.safetensors" --device "$device" --json \
    --phase train-early,train-mid,train-late,infer --runs "$runs" --warmup 1 >"$out/bench-$w.jsonl" 2>"$out/bench-$w.log" ||
    echo "bench $w failed: see $out/bench-$w.log" >&2
done

# 4. The reference's step on the same GPU (its two pure-Python packages travel as wheels).
mkdir -p "$out/py"
"$py" -m pip install --quiet --no-deps --no-index --target "$out/py" "$root"/target/gpu/wheels/*.whl
for w in shd ssc; do
  PYTHONPATH="$out/py:$root/tools/reference" "$py" tools/reference/bench.py --config "$w" \
    --phase train-early --device "$torch_device" --threads "$threads" --runs "$runs" --warmup 1 --input "$out/$w-input.safetensors" \
    >"$out/reference-$w.json" 2>"$out/reference-$w.log" || echo "reference $w failed: see $out/reference-$w.log" >&2
done
[ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null || true

"$py" - "$out" "$gpu" "$cpu" "$threads" "$device" <<'EOF'
import json, os, statistics, sys
out, gpu, cpu, threads, device = sys.argv[1:6]
def lines(path):
    try:
        return [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    except FileNotFoundError:
        return []
print(f"\n## spikedelay on {gpu} (CPU: {cpu}, {threads} threads)\n")
print("| check | result |")
print("| --- | --- |")
for l in open(os.path.join(out, "parity.txt")):
    _, case, err = [p.strip() for p in l.split("|")]
    print(f"| parity: {case} | max ‖GPU − CPU‖/‖CPU‖ {err} (≤ 1e-4) |")
log = open(os.path.join(out, "parity.log")).read()
print(f"| parity tests | {'passed' if 'test result: ok' in log and 'FAILED' not in log else 'FAILED: see parity.log'} |")
runs = {}
for dev in (device, "cpu"):
    m = lines(os.path.join(out, f"run-{dev}", "metrics.jsonl"))
    if m:
        secs = [e["seconds"] for e in m]
        runs[dev] = secs
        print(f"| SHD-shaped, {len(m)} epochs, {dev} | test accuracy {m[-1]['test_accuracy']:.3f}, epochs "
              f"{', '.join(f'{s:.2f}' for s in secs)} s; 150 epochs ≈ {150 * statistics.median(secs) / 60:.1f} min |")
    else:
        print(f"| SHD-shaped run, {dev} | FAILED: see run-{dev}.log |")
peak = 0
for w, steps, eval_batches in (("shd", 32, 9), ("ssc", 590, 238)):
    rows = lines(os.path.join(out, f"bench-{w}.jsonl"))
    train = [r for r in rows if r["phase"].startswith("train")]
    infer = [r for r in rows if r["phase"] == "infer"]
    for r in train:
        peak = max(peak, r.get("peak_device_bytes") or 0)
        print(f"| {w} step {r['phase']} (σ {r['sigma']:.2f}), GPU | {r['median_s'] * 1e3:.1f} ms |")
    for r in infer:
        print(f"| {w} inference batch of {r['batch']} (rounded model), GPU | {r['median_s'] * 1e3:.1f} ms |")
    ref = lines(os.path.join(out, f"reference-{w}.json"))
    if ref and train:
        early = next(r for r in train if r["phase"] == "train-early")
        print(f"| {w} step train-early, reference on the GPU | {ref[0]['median_s'] * 1e3:.1f} ms: "
              f"spikedelay {ref[0]['median_s'] / early['median_s']:.1f}× faster |")
    elif not ref:
        print(f"| {w} step, reference on the GPU | FAILED: see reference-{w}.log |")
    if w == "ssc" and train and infer:
        step = statistics.median(r["median_s"] for r in train)
        epoch = steps * step + eval_batches * infer[0]["median_s"]
        print(f"| SSC-shaped epoch (590 steps + 30 363 samples evaluated), GPU | ≈ {epoch:.0f} s "
              f"({steps * step:.0f} s training, {eval_batches * infer[0]['median_s']:.0f} s evaluation) |")
try:
    used = max(int(l) for l in open(os.path.join(out, "gpu-memory.csv")) if l.strip().isdigit())
    print(f"| peak GPU memory | {peak / 2**30:.2f} GiB held by spikedelay's buffers; {used / 1024:.2f} GiB used on the card (nvidia-smi, whole run) |")
except (ValueError, FileNotFoundError):
    print(f"| peak GPU memory | {peak / 2**30:.2f} GiB held by spikedelay's buffers |")
EOF
[ -z "${parity_failed:-}" ]
