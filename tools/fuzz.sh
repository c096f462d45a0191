#!/usr/bin/env sh
# The longer fuzz campaign (docs/robustness.md §7): CASES mutated inputs per target (default
# 100000) for the HDF5 spike reader, the WAV reader, the TOML config, the checkpoint loader and
# the metrics reader. Crashing inputs are saved under target/fuzz-crashers/.
set -eu
cd "$(dirname "$0")/.."
SPIKEDELAY_FUZZ_CASES="${1:-100000}" exec cargo test --release -p spikedelay --test tests fuzz -- --nocapture
