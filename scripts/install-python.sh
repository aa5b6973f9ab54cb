#!/usr/bin/env bash
# Installs the Python tools colossus tests against into one virtual
# environment outside the checkout (so clean clones share it): PyTorch 2.15
# from PyPI (its libtorch_cuda.so is what the drop-in libnccl.so.2 must
# satisfy; its nvidia-nccl-cu13 dependency brings NVIDIA's NCCL 2.30 header
# for the ABI tests), pytest, and what the Python package (python/) builds
# and plots with: pybind11, scikit-build-core and matplotlib. Idempotent and non-interactive: a venv that
# already has these versions is left alone. Prints the venv's path last.
set -euo pipefail
venv=${COLOSSUS_VENV:-$HOME/.cache/colossus/venv}
torch_version=2.15.0
python=${PYTHON:-python3}

have() {
  [ -x "$venv/bin/python" ] &&
    "$venv/bin/python" - "$torch_version" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
assert m.version("torch") == sys.argv[1]
for p in ("pytest", "numpy", "nvidia-nccl-cu13", "pybind11", "scikit-build-core", "matplotlib"):
    m.version(p)
PY
}

if have; then
  echo "install-python: $venv already has torch $torch_version, pytest, pybind11 and matplotlib" >&2
else
  echo "install-python: installing torch $torch_version, numpy, pytest, pybind11, scikit-build-core and matplotlib into $venv" >&2
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "torch==$torch_version" numpy pytest pybind11 scikit-build-core matplotlib >&2
  have || { echo "install-python: the venv at $venv is still incomplete" >&2; exit 1; }
fi
echo "$venv"
