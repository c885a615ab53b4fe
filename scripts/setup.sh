#!/usr/bin/env bash
# Set up gaitgen in ./.venv: a torch that fits this machine, then gaitgen itself (editable)
# with its test tools and the extras a researcher uses (TensorBoard summaries, plots).
# Safe to run again: it keeps what is already installed, and does nothing at all while
# pyproject.toml and this script are unchanged since the last set-up (a stamp in .venv).
#
#   no GPU  -> the CPU build of torch ($GAITGEN_CPU_TORCH, default torch==2.13.0+cpu, from
#              PyTorch's CPU index or a local wheel), not PyPI's multi-GB CUDA build
#   a GPU   -> torch from PyPI as is (the CUDA build, whatever version pip picks)
#   torch already in the venv -> kept as it is
#   $GAITGEN_EXTRAS -> the extras installed with gaitgen (default dev,tensorboard,plot)
#
# Packages go in with uv (faster than pip: 22 s against 55 s for the whole set-up on
# 2 cores) when uv is on PATH or pip can fetch it; pip does it otherwise, or when uv fails
# (uv reads no pip.conf: pip's find-links are passed on, other pip settings are not).
# GAITGEN_INSTALLER=pip skips uv. uv compiles the bytecode as pip does (--compile-bytecode):
# without it every import of torch costs twice as long where .pyc files are not written.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
extras=${GAITGEN_EXTRAS:-dev,tensorboard,plot}
cpu_index=https://download.pytorch.org/whl/cpu
activate="setup: done; activate with: source .venv/bin/activate"
stamp=.venv/.gaitgen-setup-stamp
fingerprint=$(cat pyproject.toml scripts/setup.sh <(echo "$extras") | "$python" -c \
  "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())")
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
  echo "setup: up to date (pyproject.toml unchanged since the last set-up)"
  echo "$activate"
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
uv=""
if [ "${GAITGEN_INSTALLER:-uv}" = uv ]; then
  if command -v uv >/dev/null 2>&1; then
    uv=$(command -v uv)
  elif python -m pip install -q --retries 1 --timeout 10 uv >/dev/null 2>&1; then
    uv=.venv/bin/uv
  fi
fi
# pip's local sources (a wheel folder, say), which uv would not otherwise see
find_links=()
for link in ${PIP_FIND_LINKS:-} $(python -m pip config get global.find-links 2>/dev/null || true); do
  find_links+=(--find-links "$link")
done
install() {
  if [ -n "$uv" ]; then
    if "$uv" pip install -q --compile-bytecode --python .venv/bin/python "${find_links[@]}" "$@"; then
      return 0
    fi
    echo "setup: uv could not install $*; pip installs from here on"
    uv=""
  fi
  python -m pip install -q "$@"
}
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: NVIDIA GPU found: installing torch with CUDA from PyPI"
    install torch
  else
    torch_spec=${GAITGEN_CPU_TORCH:-torch==2.13.0+cpu}
    # one short probe instead of pip's retries (dozens of lines) when the index is unreachable
    if python -c "import urllib.request as u; u.urlopen('$cpu_index/torch/', timeout=10)" \
      2>/dev/null; then
      echo "setup: no GPU found: installing the CPU build of torch ($torch_spec)"
      install "$torch_spec" --extra-index-url "$cpu_index"
    else
      echo "setup: no GPU found, and PyTorch's CPU index ($cpu_index) cannot be reached:" \
        "installing $torch_spec from pip's other sources (a local wheel, PyPI)"
      install "$torch_spec"
    fi
  fi
fi
echo "setup: installing gaitgen (editable) with its extras [$extras]${uv:+ with uv}"
install -e ".[$extras]"
echo "$fingerprint" >"$stamp"
echo "$activate"
