#!/usr/bin/env bash
# One second of 48 kHz speech (two spoken digits from make_digits.sh, resampled by spikedelay's
# own sinc resampler through `data cochlea --rate`) to 700 channels on one core: spikedelay's
# fast and exact samplers (median of 3 runs each, CPU seconds and peak memory), and with --lauscher lauscher
# itself (one run, one worker; about 7.5 minutes and 7 GB). Prints a markdown table.
#
# usage: tools/cochlea/bench.sh [--lauscher]      (after tools/cochlea/check.sh made its venv;
#        SPIKEDELAY=path/to/binary times another build, e.g. the commit before a change)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
exe=${SPIKEDELAY:-$root/target/release/spikedelay}
work=$root/target/cochlea-bench
venv=$root/target/cochlea-venv
mkdir -p "$work"
[ -d "$work/digits" ] || "$root/tools/cochlea/make_digits.sh" "$work/digits" >/dev/null
clip=$work/one-second-48k.wav
if [ ! -f "$clip" ]; then
  # 1.0 s: 'seven' then 'three' by one speaker at 22.05 kHz, cut to 22050 samples, to 48 kHz.
  python3 - "$work/digits" "$clip.22k.wav" <<'PY'
import struct, sys, wave
def read(p):
    with wave.open(p) as w:
        return w.readframes(w.getnframes()), w.getparams()
a, params = read(f"{sys.argv[1]}/seven/m1s130p35_nohash_0.wav")
b, _ = read(f"{sys.argv[1]}/three/m1s130p35_nohash_0.wav")
frames = (a + b)[: 2 * 22050]
with wave.open(sys.argv[2], "wb") as w:
    w.setparams(params)
    w.writeframes(frames)
PY
  mv "$clip.22k.wav" "$clip"
fi
time_of() {  # seconds and peak kB of one run
  local out=$work/out; rm -rf "$out"
  /usr/bin/time -f "%U %S %M" "$exe" data cochlea "$clip" --out "$out" --rate 48000 --threads 1 "$@" \
    2>&1 >/dev/null | tail -1 | awk '{printf "%.2f %d\n", $1 + $2, $3}'
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# CPU seconds (user + system, children included) rather than wall time: single-threaded runs,
# so this is the time on one core, and it does not move with other jobs on a shared machine.
echo "| tool | sampler | CPU seconds (1 s of 48 kHz audio, one thread) | peak memory MB |"
echo "| --- | --- | --- | --- |"
for sampler in fast exact; do
  runs=$(for i in 1 2 3; do time_of --sampler "$sampler"; done)
  s=$(echo "$runs" | awk '{print $1}' | median)
  m=$(echo "$runs" | awk '{print $2}' | median)
  echo "| spikedelay | $sampler | $s | $((m / 1024)) |"
done
if [ "${1:-}" = "--lauscher" ]; then
  "$venv/bin/python" - "$clip" "$work/clip48.wav" <<'PY'
import sys, numpy as np, soundfile as sf
from scipy.signal import resample_poly
x, fs = sf.read(sys.argv[1]); y = np.clip(resample_poly(x, 48000, fs), -1, 1)
sf.write(sys.argv[2], y, 48000, subtype="PCM_16")
PY
  r=$(/usr/bin/time -f "%U %S %M" "$venv/bin/python" "$root/tools/cochlea/run_lauscher.py" \
      "$work/clip48.wav" 0 "$work/lauscher.npz" --jobs 1 2>&1 >/dev/null | tail -1 \
      | awk '{printf "%.1f %d\n", $1 + $2, $3}')
  echo "| lauscher 1.0.1 | NumPy | ${r% *} | $(( ${r#* } / 1024 )) |"
fi
