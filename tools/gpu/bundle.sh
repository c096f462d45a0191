#!/usr/bin/env bash
# Builds what tools/gpu/check.sh runs on a GPU machine that has no Rust toolchain and no network
# (docs/design.md §9): the release CLI and the integration-test binary, stripped, and the two
# pure-Python wheels the reference needs, all under target/gpu/ (about 50 MB; carry that folder).
#   tools/gpu/bundle.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/gpu
mkdir -p "$out/wheels"
cargo build --release --locked -p spikedelay-cli
tests=$(cargo test --release --locked -p spikedelay --test tests --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "tests":
        print(m["executable"])' | tail -n 1)
strip -o "$out/spikedelay" target/release/spikedelay
strip -o "$out/tests" "$tests"
python3 -m pip download --quiet --no-deps --dest "$out/wheels" dcls==0.1.1 spikingjelly==0.0.0.0.14
ls -la "$out" "$out/wheels"
