#!/usr/bin/env bash
# Creates tools/reference/.venv with the PyTorch reference stack used to generate parity fixtures
# and to time the reference model side by side. Nothing here is needed by the Rust build or by CI.
#
#   tools/reference/setup.sh            # create or update the venv (about 5 GiB: torch pulls CUDA wheels)
#   tools/reference/.venv/bin/python tools/reference/make_fixtures.py
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
  "$python" -m venv "$here/.venv"
fi
pip="$here/.venv/bin/pip"
"$pip" install --quiet --upgrade pip
"$pip" install --quiet -r "$here/requirements.txt"
# dcls and spikingjelly declare loose or heavy dependencies; the versions the paper's code used are
# installed without them (torch and numpy above are all they need).
"$pip" install --quiet --no-deps dcls==0.1.1 spikingjelly==0.0.0.0.14
"$here/.venv/bin/python" - <<'PY'
import torch, DCLS, spikingjelly, numpy, safetensors
print("reference stack ready: torch", torch.__version__, "| dcls 0.1.1",
      "| spikingjelly 0.0.0.0.14 | numpy", numpy.__version__)
PY
