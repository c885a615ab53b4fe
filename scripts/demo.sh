#!/usr/bin/env bash
# The whole walk a new user takes, end to end on the built-in synthetic data (CPU is fine):
# set up, make a project, generate a model and a loss, train, test.
# Usage: bash scripts/demo.sh [DEMO_FOLDER]   (default: ./demo-run, replaced if it exists)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
demo=${1:-demo-run}
rm -rf "$demo"
set -x
gaitgen init "$demo" --defaults
cd "$demo"
gaitgen new-model MyGait
gaitgen new-loss MyLoss --config configs/mygait.yaml --prefix myloss
gaitgen train configs/mygait.yaml --set trainer_cfg.total_iter=50
gaitgen test configs/mygait.yaml
set +x
echo "demo: done; activate with: source .venv/bin/activate (then cd "$demo")"
