"""Forward + backward time of every zoo model, at its SynthGait starter size and at full size.

For each built-in model (``gaitgen.runtime.zoo.MODELS``): builds it from its starter config
and from its full-size config (OpenGait's settings), feeds a P x K = 4 x 4 batch of 30 frames
and times one training step's model work: forward in train mode, the configured losses,
backward (median of ``--steps`` after ``--warmup``). A silhouette model gets random
silhouettes at the size its transform gives (64 x 44 after the cut); a model of another
modality (pose, skeleton maps, parsing, SMPL: the issue-18 models) gets SynthGait sequences of
its starter's modalities, through its config's training transforms as the loader gives them
(raw, then its ``inputs_pretreament``, for a model that overrides it: SkeletonGaitPP); at full
size in the joint order the full config's transforms name (``alphapose``: OpenPose's 18).
On CUDA it also runs fp16 autocast and, with ``--channels-last``, NHWC memory layout, and says
which of these a model tolerates (a model whose forward fails under one of them is reported,
not hidden).

    python benchmarks/bench_zoo.py                          # every model, starter and full
    python benchmarks/bench_zoo.py --models GaitSet GaitGL --sizes full --steps 3
    python benchmarks/bench_zoo.py --device cuda --channels-last --batch 8 16

The GaitBase step of OpenGait itself on 2 CPU cores (measured with OpenGait 0efafd4): 42.4 s at 4 x 4.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from gaitgen.runtime.components import get
from gaitgen.runtime.config import load_config
from gaitgen.runtime.distributed import choose_device
from gaitgen.runtime.engine.build import build_losses, build_optimization
from gaitgen.runtime.engine.step import autocast, model_inputs
from gaitgen.runtime.model import overrides_pretreatment
from gaitgen.runtime.testing import random_batch
from gaitgen.runtime.zoo import MODELS, ZOO_DIR, format_count, starter_config

OPENPOSE_JOINTS = ("alphapose", "openpose")  # joint_format values of OpenPose's 18 joints


def _config(model: str, size: str) -> Any:
    if size == "full":
        return ZOO_DIR / MODELS[model].full_config
    return starter_config(model)


def _joint_formats(node: Any) -> set[str]:
    """Every ``joint_format`` value anywhere in a config section."""
    if isinstance(node, dict):
        found = {node["joint_format"]} if isinstance(node.get("joint_format"), str) else set()
        return found.union(*(_joint_formats(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_joint_formats(value) for value in node))
    return set()


def _cut_frames(node: Any) -> Any:
    """A transform list with each ``BaseSilTransform`` made a ``BaseSilCuttingTransform``."""
    if isinstance(node, dict):
        node = {key: _cut_frames(value) for key, value in node.items()}
        if node.get("type") == "BaseSilTransform":
            node["type"] = "BaseSilCuttingTransform"
        return node
    if isinstance(node, list):
        return [_cut_frames(value) for value in node]
    return node


def with_starter_data(cfgs: dict[str, Any], model: str) -> dict[str, Any]:
    """A full-size config of a non-silhouette model given its starter's SynthGait modalities.

    A full config reads a real dataset; for its inputs it takes the starter's
    ``data_cfg.synthetic`` (and ``data_in_use`` where the full config has none), with
    OpenPose's 18 joints where its transforms or model name ``alphapose``/``openpose``.
    A full config for frames already cut to 64 x 44 (Gait3D's, ``BaseSilTransform``) cuts
    SynthGait's 64 x 64 ones (``BaseSilCuttingTransform``): the network sees the same size.
    Silhouette models are returned unchanged (:func:`random_batch` makes their inputs).
    """
    starter = starter_config(model)
    if starter is None:
        return cfgs
    starter_data = load_config(starter)["data_cfg"]
    synthetic = starter_data.get("synthetic")
    if not isinstance(synthetic, dict) or synthetic.get("modalities") is None:
        return cfgs
    synthetic = dict(synthetic)
    sections = (cfgs.get("trainer_cfg"), cfgs.get("model_cfg"))
    if _joint_formats(list(sections)) & set(OPENPOSE_JOINTS):
        synthetic["pose_format"] = "openpose"
    data_cfg = dict(cfgs["data_cfg"], synthetic=synthetic)
    if not data_cfg.get("data_in_use") and starter_data.get("data_in_use"):
        data_cfg["data_in_use"] = starter_data["data_in_use"]
    trainer_cfg = dict(
        cfgs["trainer_cfg"], transform=_cut_frames(cfgs["trainer_cfg"].get("transform"))
    )
    return dict(cfgs, data_cfg=data_cfg, trainer_cfg=trainer_cfg)


def time_step(
    cfgs: dict[str, Any],
    model_name: str,
    batch: tuple[int, int],
    frames: int,
    device: torch.device,
    steps: int,
    warmup: int,
    amp: bool = False,
    channels_last: bool = False,
) -> float:
    """Median seconds of forward + losses + backward for one batch."""
    torch.manual_seed(0)
    model = get("model", model_name)(cfgs, True).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    build_optimization(model, cfgs)  # as the trainer does (SwinGait's lr schedule needs it)
    losses = build_losses(cfgs, None).to(device)
    raw = overrides_pretreatment(model)
    batch_inputs = random_batch(
        cfgs, identities=batch[0], per_identity=batch[1], frames=frames, raw=raw
    )
    inputs = None if raw else model_inputs(model, batch_inputs, device)
    times = []
    for step in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        if raw:  # its inputs_pretreament runs in the training process: part of the step
            inputs = model_inputs(model, list(batch_inputs), device)
        with autocast(device, amp):  # the training step's, float16 on CUDA only
            output = model(inputs)
            loss, _ = losses(output["training_feat"])
        loss.backward()
        model.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=sorted(MODELS))
    parser.add_argument("--sizes", nargs="+", default=["starter", "full"])
    parser.add_argument("--batch", nargs=2, type=int, default=[4, 4], metavar=("P", "K"))
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", choices=("cuda", "cpu"), default=None)
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()
    device = choose_device(args.device)
    variants = [("fp32", False, False)]
    if device.type == "cuda":
        variants.append(("fp16", True, False))
        if args.channels_last:
            variants.append(("fp16+NHWC", True, True))
    threads = torch.get_num_threads()
    sequences = args.batch[0] * args.batch[1]
    print(
        f"device {device}, {threads} threads; batch {args.batch[0]} x {args.batch[1]}, "
        f"{args.frames} frames; median of {args.steps} after {args.warmup} warm-up"
    )
    header = f"{'model':<19} {'size':<8} {'params':>9}"
    for name, _, _ in variants:
        header += f" {name + ' s/step':>16} {'seq/s':>8}"
    print(header)
    for model in args.models:
        for size in args.sizes:
            path = _config(model, size)
            if path is None:
                print(f"{model:<19} {size:<8} (no {size} config in the zoo)")
                continue
            cfgs = load_config(path)
            if size == "full":
                cfgs = with_starter_data(cfgs, model)
            built = get("model", model)(cfgs, True)
            count = format_count(sum(p.numel() for p in built.parameters()))
            row = f"{model:<19} {size:<8} {count:>9}"
            del built
            for _, amp, channels_last in variants:
                try:
                    seconds = time_step(
                        cfgs,
                        model,
                        tuple(args.batch),
                        args.frames,
                        device,
                        args.steps,
                        args.warmup,
                        amp,
                        channels_last,
                    )
                    row += f" {seconds:>16.3f} {sequences / seconds:>8.1f}"
                except Exception as exc:  # noqa: BLE001 - a variant a model does not tolerate
                    row += f" {'fails: ' + type(exc).__name__:>25}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
