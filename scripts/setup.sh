#!/usr/bin/env bash
# Set up gaitgen in ./.venv: a torch that fits this machine, then gaitgen itself (editable)
# with its test tools. Safe to run again: it keeps what is already installed.
#
#   no GPU  -> the CPU build of torch ($GAITGEN_CPU_TORCH, default torch==2.13.0+cpu, from
#              PyTorch's CPU index or a local wheel), not PyPI's multi-GB CUDA build
#   a GPU   -> torch from PyPI as is (the CUDA build, whatever version pip picks)
#   torch already in the venv -> kept as it is
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: NVIDIA GPU found: installing torch with CUDA from PyPI"
    python -m pip install torch
  else
    echo "setup: no GPU found: installing the CPU build of torch"
    python -m pip install "${GAITGEN_CPU_TORCH:-torch==2.13.0+cpu}" \
      --extra-index-url https://download.pytorch.org/whl/cpu
  fi
fi
python -m pip install -e ".[dev]"
echo "setup: done; activate with: source .venv/bin/activate"
