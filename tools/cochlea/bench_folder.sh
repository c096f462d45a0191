#!/usr/bin/env bash
# A GSC-like folder: 24 spoken digits from make_digits.sh (four words, six speakers), each cut or
# padded with silence to exactly 1 s, converted by `data cochlea --rate 16000 --threads 1` (and
# at 48 kHz), as a GSC copy is turned into an SSC-like set: CPU seconds per clip, median of 3
# runs. Clips of one length share the transfer function (docs/cochlea.md §9), so compare a
# build from before that with SPIKEDELAY=path/to/binary.
#
# usage: tools/cochlea/bench_folder.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
exe=${SPIKEDELAY:-$root/target/release/spikedelay}
work=$root/target/cochlea-bench
mkdir -p "$work"
[ -d "$work/digits" ] || "$root/tools/cochlea/make_digits.sh" "$work/digits" >/dev/null
folder=$work/one-second-folder
if [ ! -d "$folder" ]; then
  python3 - "$work/digits" "$folder.tmp" <<'PY'
import os, sys, wave
src, dst = sys.argv[1], sys.argv[2]
words = ["zero", "one", "drei", "vier"]
speakers = sorted({f.split("_nohash_")[0] for f in os.listdir(os.path.join(src, "zero"))})[:6]
for w in words:
    os.makedirs(os.path.join(dst, w))
    for s in speakers:
        with wave.open(os.path.join(src, w, f"{s}_nohash_0.wav")) as r:
            params, frames = r.getparams(), r.readframes(r.getnframes())
        size = params.framerate * params.sampwidth * params.nchannels
        frames = (frames + b"\0" * size)[:size]
        with wave.open(os.path.join(dst, w, f"{s}_nohash_0.wav"), "wb") as o:
            o.setparams(params)
            o.writeframes(frames)
PY
  mv "$folder.tmp" "$folder"
fi
clips=$(find "$folder" -name '*.wav' | wc -l)
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "| rate | clips | CPU seconds per 1 s clip (one thread, median of 3) |"
echo "| --- | --- | --- |"
for rate in 16000 48000; do
  s=$(for i in 1 2 3; do
    rm -rf "$work/folder-out"
    /usr/bin/time -f "%U %S" "$exe" data cochlea "$folder" --out "$work/folder-out" \
      --rate "$rate" --threads 1 --valid-percent 0 --test-percent 0 2>&1 >/dev/null | tail -1 \
      | awk -v n="$clips" '{printf "%.3f\n", ($1 + $2) / n}'
  done | median)
  echo "| $rate | $clips | $s |"
done
