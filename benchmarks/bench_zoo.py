"""Forward + backward time of every zoo model, at its SynthGait starter size and at full size.

For each built-in model (``gaitgen.runtime.zoo.MODELS``): builds it from its starter config
and from its full-size config (OpenGait's settings), feeds a P x K = 4 x 4 batch of 30 random
silhouette frames at the size its transform gives (64 x 44 after the cut), and times one
training step's model work: forward in train mode, the configured losses, backward (median
of ``--steps`` after ``--warmup``). On CUDA it also runs fp16 autocast and, with
``--channels-last``, NHWC memory layout, and says which of these a model tolerates (a model
whose forward fails under one of them is reported, not hidden).

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
from gaitgen.runtime.engine.step import autocast
from gaitgen.runtime.testing import random_batch
from gaitgen.runtime.zoo import MODELS, ZOO_DIR, format_count, starter_config


def _config(model: str, size: str) -> Any:
    if size == "full":
        return ZOO_DIR / MODELS[model].full_config
    return starter_config(model)


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
    inputs = random_batch(cfgs, identities=batch[0], per_identity=batch[1], frames=frames)
    inputs[0] = [x.to(device) for x in inputs[0]]
    inputs[1] = inputs[1].to(device)
    times = []
    for step in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
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
    header = f"{'model':<11} {'size':<8} {'params':>9}"
    for name, _, _ in variants:
        header += f" {name + ' s/step':>16} {'seq/s':>8}"
    print(header)
    for model in args.models:
        for size in args.sizes:
            path = _config(model, size)
            if path is None:
                print(f"{model:<11} {size:<8} (no {size} config in the zoo)")
                continue
            cfgs = load_config(path)
            built = get("model", model)(cfgs, True)
            row = f"{model:<11} {size:<8} {format_count(sum(p.numel() for p in built.parameters())):>9}"
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
