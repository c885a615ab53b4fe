#!/usr/bin/env bash
# Set up (see setup.sh) and run the test suite: everything but the tests marked slow.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m slow` or `-k evaluation`.
# The set-up adds the experiment loggers' libraries (W&B, MLflow), so that their tests run
# against the real libraries (offline, a local store: no network) instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
GAITGEN_EXTRAS=${GAITGEN_EXTRAS:-dev,tensorboard,plot,wandb,mlflow} bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
if [ "$#" -eq 0 ]; then
  set -- -m "not slow"
fi
python -m pytest -q "$@"
