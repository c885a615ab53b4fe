"""Training step time of the full-size GaitBase: what a GPU needs from the data loader.

Builds the runtime's ``Baseline`` from OpenGait's ``gaitbase_da_casiab.yaml`` (ResNet9
64-128-256-512, 16 parts, 74 classes; tests/fixtures/opengait/) through the config loader and
the engine's :class:`Trainer`, with its TripletLoss + CrossEntropyLoss and SGD (lr 0.1,
momentum 0.9, weight decay 5e-4), and times ``Trainer.step`` (batch moved and finished on the
device, forward, losses, finiteness check, backward, optimizer and scheduler steps) on random
uint8 silhouettes [n, 30, 64, 44] delivered as the loader delivers them (pinned on CUDA, with
the pending ``x / 255``). Mixed precision on CUDA as ``trainer_cfg.enable_float16`` does it.

Prints per batch the step time (median, p90), sequences per second (the rate the data loader
must deliver to keep the device busy), the forward pass alone (training mode, with the losses)
and the peak memory; P x K = 4 x 4 is the batch of OpenGait's measured CPU figures (OpenGait: 42.4 s a
step, 15.9 s forward, on 2 cores).

Run::

    python benchmarks/bench_step.py                      # cuda if available: 8x16 and 4x4
    python benchmarks/bench_step.py --batch 8 16 --no-amp --json step.json
    python benchmarks/bench_step.py --device cpu --channels 8 16 32 64 --batch 2 2 \\
        --frames 8 --steps 2 --warmup 1               # a CPU smoke run of a tiny variant
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from gaitgen.runtime.config import load_config
from gaitgen.runtime.data.batch import PendingInputs
from gaitgen.runtime.data.transform_base import ValueMap
from gaitgen.runtime.distributed import DistContext, choose_device
from gaitgen.runtime.engine.run import Run
from gaitgen.runtime.engine.trainer import Trainer

GAITBASE_CONFIG = (
    Path(__file__).resolve().parents[1] / "tests/fixtures/opengait/gaitbase_da_casiab.yaml"
)
HEIGHT, WIDTH = 64, 44  # 64x64 silhouettes after BaseSilCuttingTransform
REFERENCE_CPU = {(4, 4): (42.4, 15.9)}  # OpenGait 0efafd4 on 2 cores: (step s, forward s)


def model_overrides(
    channels: list[int] | None, amp: bool, channels_last: bool = False
) -> list[str]:
    """``--set`` overrides: the backbone's channels (and the heads that follow them), AMP and
    the trainer's channels_last layout (CUDA only, as in training)."""
    overrides = [
        f"trainer_cfg.enable_float16={str(amp).lower()}",
        f"trainer_cfg.channels_last={str(channels_last).lower()}",
        "trainer_cfg.restore_hint=0",
    ]
    if channels:
        embedding = max(channels[-1] // 2, 1)  # GaitBase: 512 -> 256
        overrides += [
            f"model_cfg.backbone_cfg.channels={channels}",
            f"model_cfg.SeparateFCs.in_channels={channels[-1]}",
            f"model_cfg.SeparateFCs.out_channels={embedding}",
            f"model_cfg.SeparateBNNecks.in_channels={embedding}",
        ]
    return overrides


def build_trainer(
    config: Path, overrides: list[str], device: torch.device, folder: Path
) -> Trainer:
    """The engine's Trainer for ``config``, on ``device``, with its run folder in ``folder``."""
    cfgs = load_config(config, overrides)
    run = Run(cfgs=cfgs, config_path=config.resolve(), project=None, base_dir=folder)
    return Trainer(run, DistContext(device=device))


def random_batch(
    identities: int, per_identity: int, frames: int, pin: bool, seed: int = 0
) -> list[Any]:
    """A loader-like batch: uint8 silhouettes with the pending ``x / 255``, P x K labels."""
    generator = torch.Generator().manual_seed(seed)
    n = identities * per_identity
    sils = torch.rand(n, frames, HEIGHT, WIDTH, generator=generator) > 0.5  # [n, s, h, w]
    sils = sils.to(torch.uint8).mul_(255)
    labs = torch.arange(identities).repeat_interleave(per_identity)
    if pin:
        sils, labs = sils.pin_memory(), labs.pin_memory()
    ipts = PendingInputs([sils], [(ValueMap(divisor=255.0),)])
    return [ipts, labs, ["nm-01"] * n, ["090"] * n, None]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, call: Any, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls, the device synchronised around each."""
    seconds = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        call()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def peak_memory_gb(device: torch.device) -> tuple[float, str]:
    """Peak memory since the last reset (CUDA: allocated by tensors) or of the process (CPU)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9, "GPU allocated"
    # ru_maxrss is in KiB on Linux: the whole process, since it started
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9, "process RSS"


def measure(
    trainer: Trainer,
    batch_size: tuple[int, int],
    frames: int,
    steps: int,
    warmup: int,
) -> dict[str, Any]:
    """Time ``steps`` training steps and ``steps`` forward passes after ``warmup`` steps."""
    device = trainer.ctx.device
    batch = random_batch(*batch_size, frames, pin=device.type == "cuda")
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    losses = []

    def step() -> None:
        loss_sum, _, _ = trainer.step([batch])  # one batch per optimizer step
        losses.append(loss_sum)

    def forward() -> None:
        trainer.train_step.loss(trainer.train_step.forward(batch))  # as Trainer.step does

    timed(device, step, warmup)
    step_seconds = timed(device, step, steps)
    forward_seconds = timed(device, forward, steps)
    peak, peak_kind = peak_memory_gb(device)
    sequences = batch_size[0] * batch_size[1]
    median = statistics.median(step_seconds)
    return {
        "batch": list(batch_size),
        "sequences": sequences,
        "frames": frames,
        "steps": steps,
        "step_ms_median": 1e3 * median,
        "step_ms_p90": 1e3 * percentile(step_seconds, 0.9),
        "sequences_per_s": sequences / median,
        "forward_ms_median": 1e3 * statistics.median(forward_seconds),
        "peak_memory_gb": peak,
        "peak_memory_kind": peak_kind,
        "last_loss": float(losses[-1]),
    }


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name} ({props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda})"
    return f"CPU ({torch.get_num_threads()} threads)"


def report_line(result: dict[str, Any], full_size: bool) -> str:
    p, k = result["batch"]
    line = (
        f"P x K = {p} x {k} ({result['sequences']} seq x {result['frames']} frames): "
        f"step {result['step_ms_median']:.1f} ms (p90 {result['step_ms_p90']:.1f}) | "
        f"{result['sequences_per_s']:.0f} seq/s | forward {result['forward_ms_median']:.1f} ms | "
        f"peak {result['peak_memory_gb']:.2f} GB {result['peak_memory_kind']} | "
        f"loss {result['last_loss']:.3f}"
    )
    reference = REFERENCE_CPU.get((p, k)) if full_size and result["frames"] == 30 else None
    if reference:
        step_s, forward_s = reference
        line += (
            f"\n    OpenGait on 2 CPU cores (measured): step {step_s} s, forward {forward_s} s"
            f" -> step {1e3 * step_s / result['step_ms_median']:.0f}x faster here"
        )
    return line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--device", choices=("cuda", "cpu"), default=None, help="default: cuda when available"
    )
    parser.add_argument(
        "--batch",
        type=int,
        nargs=2,
        action="append",
        metavar=("P", "K"),
        help="identities x sequences per identity (repeatable; default: 8 16 and 4 4)",
    )
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per batch size")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="autocast fp16 + GradScaler (trainer_cfg.enable_float16); default: on with CUDA",
    )
    parser.add_argument(
        "--channels",
        type=int,
        nargs=4,
        default=None,
        help="backbone channels (default: the config's 64 128 256 512); smaller for the CPU",
    )
    parser.add_argument(
        "--channels-last",
        action="store_true",
        help="trainer_cfg.channels_last: the model in NHWC layout (CUDA only, as in training)",
    )
    parser.add_argument(
        "--cudnn-benchmark",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.backends.cudnn.benchmark (default: the trainer's choice, on for CUDA "
        "training with fixed-length sampling)",
    )
    parser.add_argument("--config", type=Path, default=GAITBASE_CONFIG, help="OpenGait config")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.frames < 1:
        parser.error("--steps must be >= 1, --warmup >= 0 and --frames >= 1")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    batches = [tuple(b) for b in args.batch] if args.batch else [(8, 16), (4, 4)]
    device = choose_device(args.device)
    amp = device.type == "cuda" if args.amp is None else args.amp
    overrides = model_overrides(args.channels, amp, args.channels_last)
    python = sys.version.split()[0]
    print(f"device: {describe_device(device)}; torch {torch.__version__}; python {python}")
    results = []
    with tempfile.TemporaryDirectory() as folder:  # the run folder: only its lock is written
        for batch_size in batches:
            # a fresh trainer per batch size: every measurement starts from the same weights
            trainer = build_trainer(args.config, overrides, device, Path(folder))
            if args.cudnn_benchmark is not None:  # else as the trainer set it
                torch.backends.cudnn.benchmark = args.cudnn_benchmark
            cudnn_benchmark = torch.backends.cudnn.benchmark
            channels_last = args.channels_last and device.type == "cuda"
            if not results:
                channels = list(trainer.cfgs["model_cfg"]["backbone_cfg"]["channels"])
                parameters = sum(p.numel() for p in trainer.model.parameters())
                print(
                    f"model: {trainer.cfgs['model_cfg']['model']} channels {channels}, "
                    f"{parameters / 1e6:.2f} M parameters, from {args.config.name}; "
                    f"amp {'on' if trainer.use_amp else 'off'}, cudnn.benchmark "
                    f"{cudnn_benchmark}, channels_last {channels_last}; "
                    f"median of {args.steps} steps after {args.warmup}"
                )
            result = measure(trainer, batch_size, args.frames, args.steps, args.warmup)
            results.append(result)
            print(report_line(result, channels == [64, 128, 256, 512]), flush=True)
            trainer.close()  # the run folder's lock, for the next batch size's trainer
            del trainer
            gc.collect()  # free its weights before the next trainer's peak is measured
    figures = {
        "device": describe_device(device),
        "torch": torch.__version__,
        "amp": amp and device.type == "cuda",
        "channels": channels,
        "parameters": parameters,
        "cudnn_benchmark": cudnn_benchmark,
        "channels_last": channels_last,
        "results": results,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
