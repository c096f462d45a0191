#!/usr/bin/env bash
# Creates the two venvs the deploy checks run in (docs/deploy.md §5). Not needed by the Rust build or CI.
#
#   tools/deploy/setup.sh          # .venv (Python 3.11: nir, snnTorch, Brian2) and
#                                  # .venv-lava (Python 3.10: lava-nc 0.10, lava-dl 0.6 netx loader)
#   tools/deploy/check.sh          # runs every check against a freshly trained synthetic-SHD network
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py311="${PYTHON:-python3}"
py310="${PYTHON310:-$(pyenv root 2>/dev/null)/versions/3.10.13/bin/python3}"

# --- NIR, snnTorch, Brian2 ---
if [ ! -x "$here/.venv/bin/python" ]; then "$py311" -m venv "$here/.venv"; fi
pip="$here/.venv/bin/pip"
"$pip" install --quiet --upgrade pip
"$pip" install --quiet "numpy<2.3" h5py==3.12.1 nir==1.0.8 brian2==2.8.0 \
  filelock typing-extensions sympy networkx jinja2 fsspec
# torch's Linux wheels on PyPI load the CUDA libraries at import, so they come with it (about 3 GiB).
"$pip" install --quiet torch==2.5.1
"$pip" install --quiet --no-deps snntorch==0.9.4
# snnTorch's NIR import (snntorch.import_nir) builds the network with nirtorch.
"$pip" install --quiet --no-deps nirtorch==2.0.5
"$here/.venv/bin/python" -c "import nir, nirtorch, snntorch, brian2, torch; from snntorch import import_nir; print('deploy venv ready: nir', getattr(nir, '__version__', '1.0.8'), '| nirtorch', getattr(nirtorch, '__version__', '?'), '| snntorch', snntorch.__version__, '| brian2', brian2.__version__, '| torch', torch.__version__)"

# --- Lava (netx) on Python 3.10: the loader path, without lava-dl's training stack ---
if [ ! -x "$here/.venv-lava/bin/python" ]; then "$py310" -m venv "$here/.venv-lava"; fi
lpip="$here/.venv-lava/bin/pip"
"$lpip" install --quiet --upgrade pip
"$lpip" install --quiet --no-deps lava-nc==0.10.0 lava-dl==0.6.0
"$lpip" install --quiet "numpy<2" scipy "networkx<=2.8.7" "asteval<0.10" h5py scikit-learn matplotlib \
  "pillow<11" "opencv-python-headless<5"
"$lpip" install --quiet torch==2.3.1
"$lpip" install --quiet --no-deps torchvision==0.18.1
"$lpip" install --quiet filelock typing-extensions sympy jinja2 fsspec
"$here/.venv-lava/bin/python" -c "from lava.lib.dl.netx import hdf5; print('lava venv ready: netx', hdf5.__name__)"
