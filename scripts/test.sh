#!/usr/bin/env bash
# Set up (see setup.sh) and run the test suite: everything but the tests marked slow.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m slow` or `-k evaluation`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
if [ "$#" -eq 0 ]; then
  set -- -m "not slow"
fi
python -m pytest -q "$@"
