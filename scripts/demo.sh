#!/usr/bin/env bash
# The whole walk a new user takes, end to end on the built-in synthetic data (CPU is fine):
# set up, make a project, generate a model and a loss, train, test, then what the numbers mean.
# Usage: bash scripts/demo.sh [DEMO_FOLDER]   (default: ./demo-run, replaced if it exists)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
demo=${1:-demo-run}
rm -rf "$demo"
repo=$(pwd)
set -x
gaitgen init "$demo" --defaults
cd "$demo"
gaitgen new-model MyGait
gaitgen new-loss MyLoss --config configs/mygait.yaml --prefix myloss
iterations=50
gaitgen train configs/mygait.yaml --set trainer_cfg.total_iter=$iterations
gaitgen test configs/mygait.yaml
{ set +x; } 2>/dev/null
cd "$repo"  # what the numbers above mean, and where to go next
python scripts/demo_summary.py "$demo" "$demo/output/SynthGait/MyGait/MyGait" "$iterations"
echo "demo: done; activate with: source .venv/bin/activate (then cd $demo)"
