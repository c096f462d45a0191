#!/usr/bin/env bash
# Every deploy check of docs/deploy.md §5 on a freshly trained synthetic-SHD network, by the
# targets' own code. Needs tools/deploy/setup.sh first; not part of CI (about 3 minutes). Each
# check appends its figures to WORKDIR/results.jsonl and the float and fixed-point accuracies go
# to WORKDIR/eval.json: tools/docs/regenerate.py --only deploy quotes them in the docs.
#
#   tools/deploy/check.sh [WORKDIR] [SAMPLES]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$repo/target/deploy-check}"
samples="${2:-20}"
py="$repo/tools/deploy/.venv/bin/python"
lava="$repo/tools/deploy/.venv-lava/bin/python"
sd="$repo/target/release/spikedelay"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
cd "$work"
export SPIKEDELAY_DEPLOY_RESULTS="$work/results.jsonl"
: > "$SPIKEDELAY_DEPLOY_RESULTS"
if [ ! -f shd/shd_train.h5 ]; then
  "$sd" data make-synthetic --format shd shd --train-per-class 150 --test-per-class 10
fi
printf '[model]\nhidden = [96, 96]\n\n[train]\nepochs = 15\n' > learned.toml
printf '[model]\nhidden = [96, 96]\n\n[train]\nepochs = 8\n' > nodelay.toml
[ -f learned/best.safetensors ] || "$sd" train --preset shd --data-dir shd --config learned.toml --out learned | tail -1
[ -f nodelay/best.safetensors ] || "$sd" train --preset shd --data-dir shd --config nodelay.toml --delays none --out nodelay | tail -1

"$sd" eval --json --quantize loihi --checkpoint learned/best.safetensors > eval.json

echo "== Loihi 2 (lava-dl netx on Lava's bit-accurate CPU models)"
"$sd" export --checkpoint learned/best.safetensors --format netx --out net.net
"$sd" eval --checkpoint learned/best.safetensors --quantize loihi --trace loihi.h5 --trace-samples "$samples" | tail -3
"$lava" "$repo/tools/deploy/lava_check.py" net.net loihi.h5 2>&1 | grep -v -e Prophesee -e prophesee -e 'Only Prophesee'

echo "== NIR (reference package nir 1.0.8; our reader; snnTorch on a no-delay export)"
"$sd" export --checkpoint learned/best.safetensors --format nir --out net.nir --no-eval
"$py" "$repo/tools/deploy/nir_check.py" read net.nir
"$sd" eval --model net.nir | tail -6
"$sd" export --checkpoint nodelay/best.safetensors --format nir --nir-dt 1e-4 --out nodelay.nir --no-eval
"$sd" eval --model nodelay.nir --trace nodelay.h5 --trace-samples "$samples" | tail -3
"$py" "$repo/tools/deploy/nir_check.py" snntorch nodelay.nir nodelay.h5 | grep -v 'replace rnn'

echo "== Brian2 (synapses export, per-synapse delays)"
"$sd" export --checkpoint learned/best.safetensors --format synapses --out net.json --no-eval
"$sd" eval --checkpoint learned/best.safetensors --trace float.h5 --trace-samples "$samples" > /dev/null
"$py" "$repo/tools/deploy/brian2_check.py" net.json float.h5 2>&1 | grep -v -i warning
echo "all deploy checks passed"
