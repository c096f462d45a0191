#!/usr/bin/env bash
# spikedelay's cochlea against lauscher itself (docs/cochlea.md §8; not in CI: lauscher needs
# about 2 to 5 minutes per clip). Installs espeak-ng and libsndfile1 (Debian), a venv with
# lauscher 1.0.1 under target/cochlea-venv, makes the spoken digits, and runs check.py on 10 clips
# at 16 and 48 kHz. lauscher's results are cached in WORK (default target/cochlea-check).
#
# usage: tools/cochlea/check.sh [WORK]      (after cargo build --release)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$root/target/cochlea-check}
venv=$root/target/cochlea-venv
if ! command -v espeak-ng >/dev/null || ! ldconfig -p | grep -q libsndfile; then
  apt-get install -y -q espeak-ng libsndfile1 >/dev/null
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q lauscher==1.0.1 numpy scipy numba matplotlib soundfile h5py
fi
[ -d "$work/digits" ] || "$root/tools/cochlea/make_digits.sh" "$work/digits"
"$venv/bin/python" "$root/tools/cochlea/check.py" "$work/digits" "$work" \
  "$root/target/release/spikedelay" --clips 10 --rates 16000,48000 --jobs "${JOBS:-2}"
