#!/usr/bin/env bash
# One pass over gaitgen's CUDA code paths on a GPU machine without network, in ~6 minutes.
#
#   bash scripts/gpu_check.sh                          # from the repository root, on the GPU box
#   GPU_CHECK_DEVICE=cpu bash scripts/gpu_check.sh     # the same walk on the CPU, shrunk (~5 min)
#
# Needs: python3 with torch, numpy, pyyaml, typer, jinja2 (pillow for the heatmaps), and the
# starter project generated beside the repository (it needs copier, which the GPU box lacks):
#   gaitgen init .gpu/proj --defaults --name gpucheck
#   (cd .gpu/proj && gaitgen new-model GpuGait && \
#    gaitgen new-loss GpuLoss --config configs/gpugait.yaml --prefix gpuloss)
# and carried to the device (`.gpu` is git-ignored).
#
# Steps (each with a header, its wall time and its exit code; a failure is reported and the
# next step runs; the script exits 1 if any step failed):
#   env        nvidia-smi, python, torch/CUDA/NCCL/cuDNN versions, the packages gaitgen uses
#   install    pip install --no-index --no-build-isolation --target $GPU_CHECK_SITE . (falls
#              back to a link tree when the build backend is missing); import + --help
#   step       benchmarks/bench_step.py: full-size GaitBase step at 8x16 and 4x4 (AMP)
#   train      gaitgen train (starter config, AMP, 2 loader workers) to iteration 60
#   test       gaitgen test: restore on the device, evaluate, results.json + embeddings.npz
#   checkpoint the saved state: model, optimizer, GradScaler, RNG (CUDA included)
#   resume     gaitgen train to 80 with restore_hint=latest (optimizer + GradScaler restored)
#   torchrun   gaitgen train --nproc 1 --max-restarts 1: the torchrun launch path
#   ddp        the real Trainer under a NCCL process group (1 rank: DDP, SyncBatchNorm, the
#              all_reduce of the finiteness check, barrier) on the project's own model + loss
#   ddp_test   gaitgen test of that DDP-trained checkpoint (a plain model loads it)
#   loader     benchmarks/bench_loader.py --batches 30 --repeats 1 --workers 1 2 4 (--device)
#   variants   bench_step at 8x16: cudnn.benchmark, fp32 (--no-amp), channels_last
#
# Output: everything on stdout and in ${OUT:-/tmp}/gpu_check.log; small result files
# (bench JSON, results.json, logs of the runs) in ${OUT:-/tmp}/gpu_check/.
# Environment: GPU_CHECK_DEVICE (cuda|cpu), GPU_CHECK_BUDGET_S (wall budget, default 420 s:
# steps that would start past it are skipped, each step's timeout is capped by what is left),
# GPU_CHECK_WORK (scratch, /tmp/gpu_check), GPU_CHECK_SITE (install target, /tmp/site), PYTHON,
# GPU_CHECK_INSTALL=link (skip pip: link the source folders into the target),
# GPU_CHECK_STEPS="install train test" (only these steps; later ones need install's target).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$REPO/scripts/gpu_check.sh"
export REPO SELF
export GPU_CHECK_DEVICE=${GPU_CHECK_DEVICE:-cuda}
export GPU_CHECK_WORK=${GPU_CHECK_WORK:-/tmp/gpu_check}
export GPU_CHECK_SITE=${GPU_CHECK_SITE:-/tmp/site}
export GPU_CHECK_BUDGET_S=${GPU_CHECK_BUDGET_S:-420}
export PYTHON=${PYTHON:-python3}
export OUT_DIR=${OUT:-/tmp}
export ARTIFACTS=$OUT_DIR/gpu_check
export PROJECT=$GPU_CHECK_WORK/proj
# gaitgen from the install target only: no current folder or script folder on sys.path (the
# repository's gaitgen/ lacks gaitgen.runtime, which only the installed package maps)
export PYTHONPATH="$GPU_CHECK_SITE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONSAFEPATH=1
export PYTHONUNBUFFERED=1

DEV=$GPU_CHECK_DEVICE
BASE_RUN=$PROJECT/output/SynthGait/Baseline/Baseline
DDP_RUN=$PROJECT/output/SynthGait/GpuGait/DDP

# Sizes: the GPU walk, or a CPU walk shrunk to finish on 2 cores.
if [[ $DEV == cuda ]]; then
  ITER1=60 ITER2=80 ITER_SHORT=20 SAVE_ITER=30 LOG_ITER=10
  SYNC_BN=true
  DATA_SET=(--set data_cfg.synthetic.workers=8)
  STEP_ARGS=()
  VARIANT_ARGS=(--batch 8 16 --steps 10 --warmup 3)
  LOADER_ARGS=(--batches 30 --repeats 1 --workers 1 2 4)
else
  ITER1=6 ITER2=8 ITER_SHORT=4 SAVE_ITER=3 LOG_ITER=2
  SYNC_BN=false  # the Trainer converts to SyncBatchNorm under gloo too, which DDP rejects on the CPU
  DATA_SET=(
    --set data_cfg.synthetic.workers=2 --set data_cfg.synthetic.subjects=10
    --set data_cfg.dataset_root=data/synthgait-small
    --set data_cfg.dataset_partition=data/synthgait-small/partition.json
    --set "trainer_cfg.sampler.batch_size=[4,2]" --set trainer_cfg.sampler.frames_num_fixed=8
  )
  STEP_ARGS=(--channels 8 16 32 64 --batch 2 2 --batch 4 4 --frames 8 --steps 2 --warmup 1)
  VARIANT_ARGS=(--channels 8 16 32 64 --batch 2 2 --frames 8 --steps 2 --warmup 1)
  LOADER_ARGS=(--ids 8 --batches 3 --warmup 1 --repeats 1 --workers 1)
fi
COMMON_SET=(
  --set data_cfg.num_workers=2 --set trainer_cfg.log_iter=$LOG_ITER
  --set trainer_cfg.save_iter=$SAVE_ITER --set trainer_cfg.enable_float16=true
  --set evaluator_cfg.enable_float16=true "${DATA_SET[@]}"
)

gaitgen() { "$PYTHON" -m gaitgen --debug "$@"; }
ckpt() { printf '%s/checkpoints/%s-%05d.pt' "$1" "$2" "$3"; }
expect() {  # expect FILE REGEX WHAT: the log has a line matching REGEX, else fail
  if grep -Eq -- "$2" "$1"; then echo "ok: $3"; else echo "FAILED: $3 (no line matching '$2' in $1)"; return 1; fi
}
exists() {
  if [[ -s $1 ]]; then echo "ok: $1 ($(du -h "$1" | cut -f1))"; else echo "FAILED: missing $1"; return 1; fi
}

# ---------------------------------------------------------------------------------- steps

step_env() {
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L
    nvidia-smi --query-gpu=name,memory.total,driver_version,mig.mode.current --format=csv || true
  else
    echo "nvidia-smi: not found"
  fi
  echo "python: $(command -v "$PYTHON") $("$PYTHON" --version 2>&1); CPUs: $(nproc); bash $BASH_VERSION"
  "$PYTHON" - <<'EOF'
import importlib
import importlib.metadata
import os
import warnings

import torch

warnings.simplefilter("ignore")
cuda = torch.cuda.is_available()
print(f"torch {torch.__version__} (CUDA build {torch.version.cuda}); cuda available: {cuda}, "
      f"{torch.cuda.device_count()} device(s); threads {torch.get_num_threads()}")
if cuda:
    props = torch.cuda.get_device_properties(0)
    print(f"device 0: {props.name}, {props.total_memory / 2**30:.1f} GiB, capability "
          f"{props.major}.{props.minor}; cuDNN {torch.backends.cudnn.version()}; "
          f"NCCL {'.'.join(map(str, torch.cuda.nccl.version()))}; "
          f"NCCL available: {torch.distributed.is_nccl_available()}")
DISTRIBUTIONS = {"yaml": "pyyaml", "PIL": "pillow"}
for name in ("numpy", "yaml", "typer", "click", "rich", "jinja2", "PIL", "setuptools", "wheel",
             "pip", "tensorboard", "copier", "black"):
    try:
        importlib.import_module(name)
        try:
            version = importlib.metadata.version(DISTRIBUTIONS.get(name, name))
        except importlib.metadata.PackageNotFoundError:
            version = "installed"
        print(f"  {name:<12} {version}")
    except ImportError:
        note = {"PIL": " <- gaitgen test writes its heatmaps with pillow",
                "setuptools": " <- the install step falls back to a link tree"}.get(name, "")
        print(f"  {name:<12} MISSING{note}")
if os.environ["GPU_CHECK_DEVICE"] == "cuda" and not cuda:
    raise SystemExit("GPU_CHECK_DEVICE=cuda but torch sees no CUDA device")
EOF
}

step_install() {
  rm -rf "$GPU_CHECK_SITE"
  grep -A3 '^\[build-system\]' "$REPO/pyproject.toml"
  local method=pip
  # in-tree build in a copy: the repository's build/ and *.egg-info stay as they are
  local src=$GPU_CHECK_WORK/src
  rm -rf "$src" && mkdir -p "$src"
  cp -r "$REPO/pyproject.toml" "$REPO/setup.py" "$REPO/README.md" "$REPO/gaitgen" \
    "$REPO/runtime" "$REPO/templates" "$src/"
  if [[ ${GPU_CHECK_INSTALL:-pip} == link ]] || ! "$PYTHON" -m pip install -q --no-deps --no-build-isolation --no-index \
      --target "$GPU_CHECK_SITE" "$src"; then
    echo "pip install failed (no setuptools/wheel here?): installing a link tree instead"
    method="link tree"
    rm -rf "$GPU_CHECK_SITE" && mkdir -p "$GPU_CHECK_SITE/gaitgen"
    for entry in "$REPO"/gaitgen/*; do ln -s "$entry" "$GPU_CHECK_SITE/gaitgen/"; done
    ln -s "$REPO/runtime" "$GPU_CHECK_SITE/gaitgen/runtime"
    ln -s "$REPO/templates" "$GPU_CHECK_SITE/gaitgen/templates"
  fi
  echo "installed by: $method"
  (cd /tmp && "$PYTHON" -c "
import os, sys
import gaitgen.cli.app
assert 'torch' not in sys.modules, 'the CLI imported torch at start-up'
import gaitgen.runtime
path = os.path.realpath(gaitgen.runtime.__file__)
print('gaitgen.runtime from', gaitgen.runtime.__file__, '->', path)
assert gaitgen.runtime.__file__.startswith(os.environ['GPU_CHECK_SITE']), 'not the installed copy'
")
  (cd /tmp && gaitgen --help >"$GPU_CHECK_WORK/help.txt")  # no pipe into head: SIGPIPE
  head -n 12 "$GPU_CHECK_WORK/help.txt"
  ls "$GPU_CHECK_SITE/bin" 2>/dev/null || echo "(no console scripts: use python3 -m gaitgen)"
}

step_step() {
  "$PYTHON" "$REPO/benchmarks/bench_step.py" --device "$DEV" "${STEP_ARGS[@]}" \
    --json "$ARTIFACTS/bench_step.json"
}

step_train() {
  [[ -f $REPO/.gpu/proj/configs/baseline.yaml ]] || {
    echo "FAILED: $REPO/.gpu/proj is missing: generate it (see the top of this script) and carry .gpu"
    return 1
  }
  rm -rf "$PROJECT" && cp -r "$REPO/.gpu/proj" "$PROJECT"
  cd "$PROJECT"
  local log=$ARTIFACTS/train.log
  gaitgen train configs/baseline.yaml --nproc 1 --device "$DEV" "${COMMON_SET[@]}" \
    --set trainer_cfg.total_iter=$ITER1 2>&1 | tee "$log"
  expect "$log" "training Baseline on $DEV" "trained on $DEV"
  expect "$log" "iteration $ITER1: loss=[0-9.]+" "reached iteration $ITER1 with a finite loss"
  exists "$(ckpt "$BASE_RUN" Baseline "$ITER1")"
  ls -la "$BASE_RUN" "$BASE_RUN/checkpoints"
}

test_outputs() {  # test_outputs RC RUN_DIR LOG: what gaitgen test must have written
  if "$PYTHON" -c "import PIL" 2>/dev/null; then
    ((${1} == 0)) || { echo "FAILED: gaitgen test exited with $1"; return 1; }
    exists "$2/results.json"
    exists "$2/embeddings.npz"
    ls "$2"/heatmap_*.png || { echo "FAILED: no heatmap png"; return 1; }
  else  # not a CUDA problem: pip would have installed pillow (a dependency of gaitgen)
    echo "WARNING: pillow is missing here: gaitgen test fails (exit $1) when it imports the" \
      "heatmap writer, before results.json and embeddings.npz; checking the printed table only" \
      | tee -a "$ARTIFACTS/warnings.txt"
    expect "$3" "^rank1 +[0-9.]+" "the rank-1 table was printed"
  fi
}

step_test() {
  cd "$PROJECT"
  local log=$ARTIFACTS/test.log rc=0
  gaitgen test configs/baseline.yaml --device "$DEV" "${COMMON_SET[@]}" 2>&1 | tee "$log" || rc=$?
  expect "$log" "testing Baseline at iteration $ITER1 on $DEV" "restored iteration $ITER1 on $DEV"
  test_outputs "$rc" "$BASE_RUN" "$log"
  cp "$BASE_RUN/results.json" "$ARTIFACTS/results.json" 2>/dev/null || true
}

step_checkpoint() {
  "$PYTHON" - "$(ckpt "$BASE_RUN" Baseline "$ITER1")" "$DEV" <<'EOF'
import sys

import torch

path, device = sys.argv[1], sys.argv[2]
state = torch.load(path, map_location="cpu", weights_only=True)
print("keys:", sorted(state), "iteration:", state["iteration"])
print("scaler:", state["scaler"])
optimizer = state["optimizer"]
print(f"optimizer: {len(optimizer['state'])} parameter states, groups "
      f"{[{k: v for k, v in g.items() if k != 'params'} for g in optimizer['param_groups']]}")
print("rng:", {k: type(v).__name__ for k, v in state["rng"].items()})
weights = state["model"]
print(f"model: {len(weights)} tensors, {sum(t.numel() for t in weights.values()) / 1e6:.2f} M values")
if device == "cuda":
    assert state["scaler"].get("scale"), "AMP on CUDA must save the GradScaler's state"
    assert "cuda" in state["rng"], "the CUDA RNG state is missing"
print("ok: checkpoint complete")
EOF
}

step_resume() {
  cd "$PROJECT"
  local log=$ARTIFACTS/resume.log
  gaitgen train configs/baseline.yaml --device "$DEV" "${COMMON_SET[@]}" \
    --set trainer_cfg.total_iter=$ITER2 --set trainer_cfg.restore_hint=latest 2>&1 | tee "$log"
  expect "$log" "restored .*Baseline-$(printf %05d "$ITER1").pt \(iteration $ITER1\)" \
    "resumed from iteration $ITER1"
  expect "$log" "iteration $ITER2: loss=[0-9.]+" "reached iteration $ITER2 with a finite loss"
  exists "$(ckpt "$BASE_RUN" Baseline "$ITER2")"
}

step_torchrun() {
  cd "$PROJECT"
  local log=$ARTIFACTS/torchrun.log run=$PROJECT/output/SynthGait/Baseline/Torchrun
  gaitgen train configs/baseline.yaml --nproc 1 --max-restarts 1 --device "$DEV" \
    "${COMMON_SET[@]}" --set trainer_cfg.save_name=Torchrun --set trainer_cfg.total_iter=$ITER_SHORT \
    --set trainer_cfg.save_iter=$ITER_SHORT 2>&1 | tee "$log"
  expect "$log" "launching: .*torch.distributed.run" "started through torchrun"
  expect "$log" "iteration $ITER_SHORT: loss=[0-9.]+" "reached iteration $ITER_SHORT"
  exists "$(ckpt "$run" Torchrun "$ITER_SHORT")"
}

step_ddp() {
  cd "$PROJECT"
  cat >"$GPU_CHECK_WORK/ddp_check.py" <<'EOF'
"""The real Trainer inside a process group of one rank (NCCL on CUDA, gloo on the CPU).

distributed.setup() makes no group for a world of 1, and NCCL refuses two ranks on one GPU,
so the group is made here as setup() makes it for N ranks, and the context claims to be
distributed: the Trainer then wraps DDP (device_ids), converts SyncBatchNorm, all_reduces
the finiteness flag and saves behind a barrier, as on N GPUs.
"""
import datetime
import os
import sys

import torch
import torch.distributed as dist

from gaitgen.runtime.distributed import DistContext, all_gather_objects, broadcast_object
from gaitgen.runtime.engine.run import ensure_synthetic_data, load_run, setup_logging
from gaitgen.runtime.engine.trainer import Trainer


class OneRankGroup(DistContext):
    @property
    def distributed(self) -> bool:
        return True


config, device_type, *overrides = sys.argv[1:]
local_rank = int(os.environ["LOCAL_RANK"])
kwargs = {"timeout": datetime.timedelta(minutes=2)}
if device_type == "cuda":
    torch.cuda.set_device(local_rank)
    device, backend = torch.device("cuda", local_rank), "nccl"
    kwargs["device_id"] = device
else:
    device, backend = torch.device("cpu"), "gloo"
dist.init_process_group(backend=backend, **kwargs)
print(f"process group: {dist.get_backend()}, world size {dist.get_world_size()}, device {device}")
ctx = OneRankGroup(0, local_rank, 1, device, backend)
run = load_run(config, overrides)
setup_logging(ctx)
ensure_synthetic_data(run, ctx)
trainer = Trainer(run, ctx)
sync_bn = sum(isinstance(m, torch.nn.SyncBatchNorm) for m in trainer.model.modules())
print(f"network {type(trainer.network).__name__}, {sync_bn} SyncBatchNorm layers, "
      f"amp {trainer.use_amp}")
assert isinstance(trainer.network, torch.nn.parallel.DistributedDataParallel)
trainer.fit()
flag = torch.ones(1, dtype=torch.int32, device=device)
dist.all_reduce(flag, op=dist.ReduceOp.MIN)
assert all_gather_objects({"rank": 0}) == [{"rank": 0}]
assert broadcast_object("x") == "x"
rows = [torch.empty(3, 2, device=device)]
dist.all_gather(rows, torch.ones(3, 2, device=device))
dist.barrier()
print(f"ok: {backend} collectives and DDP training")
dist.destroy_process_group()
EOF
  local log=$ARTIFACTS/ddp.log data_overrides=() arg
  for arg in "${DATA_SET[@]}"; do [[ $arg == --set ]] || data_overrides+=("$arg"); done
  "$PYTHON" -m torch.distributed.run --standalone --nproc-per-node 1 \
    "$GPU_CHECK_WORK/ddp_check.py" configs/gpugait.yaml "$DEV" \
    data_cfg.num_workers=2 trainer_cfg.enable_float16=true trainer_cfg.sync_BN=$SYNC_BN \
    trainer_cfg.save_name=DDP trainer_cfg.total_iter=$ITER_SHORT \
    trainer_cfg.save_iter=$ITER_SHORT trainer_cfg.log_iter=$LOG_ITER \
    "${data_overrides[@]}" 2>&1 | tee "$log"
  expect "$log" "^ok: (nccl|gloo) collectives" "DDP training and collectives"
  exists "$(ckpt "$DDP_RUN" DDP "$ITER_SHORT")"
}

step_ddp_test() {
  cd "$PROJECT"
  local log=$ARTIFACTS/ddp_test.log rc=0
  gaitgen test configs/gpugait.yaml --device "$DEV" "${COMMON_SET[@]}" \
    --set evaluator_cfg.save_name=DDP 2>&1 | tee "$log" || rc=$?
  expect "$log" "testing GpuGait at iteration $ITER_SHORT on $DEV" "DDP checkpoint restored"
  test_outputs "$rc" "$DDP_RUN" "$log"
}

step_loader() {
  local args=("${LOADER_ARGS[@]}") help
  help=$("$PYTHON" "$REPO/benchmarks/bench_loader.py" --help)
  if grep -q -- "--device" <<<"$help"; then args+=(--device "$DEV"); else
    echo "(bench_loader.py has no --device option yet: batches are finished on the CPU)"
  fi
  if grep -q -- "--paths" <<<"$help"; then args+=(--paths uint8); fi  # the engine's path
  echo "bench_loader.py ${args[*]}"
  "$PYTHON" "$REPO/benchmarks/bench_loader.py" "${args[@]}"
}

step_variants() {
  local variant tag
  for variant in "--cudnn-benchmark" "--no-amp" "--channels-last --cudnn-benchmark"; do
    echo "--- bench_step ${VARIANT_ARGS[*]} $variant"
    tag=$(tr -cs 'a-z' '_' <<<"$variant" | sed 's/^_//; s/_$//')
    # shellcheck disable=SC2086  # $variant holds several options
    "$PYTHON" "$REPO/benchmarks/bench_step.py" --device "$DEV" "${VARIANT_ARGS[@]}" $variant \
      --json "$ARTIFACTS/bench_step_$tag.json"
  done
}

# ------------------------------------------------------------------------------- runner

STEPS=(env install step train test checkpoint resume torchrun ddp ddp_test loader variants)
LIMITS=(60 180 180 240 150 60 150 150 180 120 240 200)
ONLY=" ${GPU_CHECK_STEPS:-${STEPS[*]}} "

if [[ ${1:-} == --step ]]; then  # one step, in its own process (the runner's timeout kills it)
  "step_$2"
  exit
fi

main() {
  mkdir -p "$ARTIFACTS" "$GPU_CHECK_WORK"
  rm -f "$ARTIFACTS/warnings.txt"
  echo "gpu_check on ${HOSTNAME:-?} at $(date -u +%FT%TZ): device $DEV, budget ${GPU_CHECK_BUDGET_S} s"
  echo "repository $REPO ($(git -C "$REPO" log -1 --format='%h %s' 2>/dev/null || echo 'no git'))"
  local start=$SECONDS failed=() summary=() i name limit left rc t0
  for i in "${!STEPS[@]}"; do
    name=${STEPS[$i]} limit=${LIMITS[$i]}
    [[ $ONLY == *" $name "* ]] || continue
    left=$((GPU_CHECK_BUDGET_S - (SECONDS - start)))
    if ((left < 20)); then
      echo "=== [$name] SKIPPED: ${left} s left of the budget"
      summary+=("$(printf '%-10s skipped (budget)' "$name")")
      failed+=("$name(skipped)")
      continue
    fi
    ((limit > left)) && limit=$left
    echo
    echo "=== [$name] start $(date +%T), limit ${limit} s"
    t0=$SECONDS rc=0
    timeout --kill-after=10 "$limit" bash "$SELF" --step "$name" || rc=$?
    ((rc == 124 || rc == 137)) && echo "=== [$name] TIMED OUT after ${limit} s"
    echo "=== [$name] exit $rc, $((SECONDS - t0)) s"
    summary+=("$(printf '%-10s exit %3d  %4d s' "$name" "$rc" $((SECONDS - t0)))")
    ((rc == 0)) || failed+=("$name")
  done
  echo
  echo "=== summary ($((SECONDS - start)) s in all; log $OUT_DIR/gpu_check.log, files $ARTIFACTS)"
  printf '  %s\n' "${summary[@]}"
  [[ -f $ARTIFACTS/warnings.txt ]] && sed 's/^/  /' "$ARTIFACTS/warnings.txt"
  if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}"
    return 1
  fi
  echo "all steps passed"
}

mkdir -p "$OUT_DIR"
main 2>&1 | tee "$OUT_DIR/gpu_check.log"
