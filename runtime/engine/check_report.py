"""The pieces of ``gaitgen check``'s report: the report itself, one-line problems, shapes,
counts and the step's peak memory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..data.batch import RawSequences
from ..errors import GaitgenError


@dataclass
class CheckReport:
    """What ``gaitgen check`` found.

    Attributes:
        rows: ``(heading, text)`` lines of the report, in order.
        problems: one line per problem, each naming the key or file at fault.
        notes: keys accepted but ignored, and similar remarks that are not problems.
    """

    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, heading: str, text: str) -> None:
        self.rows.append((heading, text))

    def format(self) -> str:
        """The report as aligned text (problems are not included: print them on stderr)."""
        width = max((len(h) for h, _ in self.rows), default=0)
        lines = [f"{h:<{width}}  {t}" if h else f"{'':<{width}}  {t}" for h, t in self.rows]
        lines += [f"note: {note}" for note in self.notes]
        verdict = "ok: no problems found" if self.ok else f"{len(self.problems)} problem(s) found"
        return "\n".join(lines + [verdict])


def attempt(report: CheckReport, where: str, action: Callable[[], Any]) -> Any:
    """Run one part of the check; a failure becomes one problem line (``None`` returned)."""
    try:
        return action()
    except GaitgenError as exc:
        report.problems.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - the user's model/loss code may raise anything
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        report.problems.append(f"{where}: {type(exc).__name__}: {message}")
    return None


def shape_text(value: Any) -> str:
    """``[8, 128, 16] float32`` for a tensor, a bracketed list for a list of them."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        return f"{list(value.shape)} {dtype}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(shape_text(v) for v in value) + "]"
    return type(value).__name__


def count_text(number: float) -> str:
    """``1.20G``, ``638.55M``, ``12.00k``: a large count in three significant places."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if number >= scale:
            return f"{number / scale:.2f}{suffix}"
    return f"{number:.0f}"


def batch_text(batch: list[Any]) -> str:
    """One line on an OpenGait batch: sequences, each modality's shape, ``seqL``."""
    ipts, labs, _, _, seq_l = batch
    if isinstance(ipts, RawSequences):  # the model's inputs_pretreament transforms it
        modalities = "; ".join(
            f"seqs[{i}] {shape_text(x)} raw (frames of all sequences)"
            for i, x in enumerate(ipts.tensors)
        )
    else:
        modalities = "; ".join(f"ipts[{i}] {shape_text(x)}" for i, x in enumerate(ipts))
    if seq_l is None:
        return f"{len(labs)} sequences; {modalities}; seqL None"
    lengths = [int(n) for n in seq_l.flatten().tolist()]
    shown = ", ".join(str(n) for n in lengths[:6]) + (", ..." if len(lengths) > 6 else "")
    return f"{len(labs)} sequences; {modalities}; seqL {list(seq_l.shape)} ({shown})"


class PeakMemory:
    """The step's peak memory: CUDA's allocator peak, or the growth of the CPU max RSS."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        else:
            self.start = _max_rss()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self.peak = _max_rss()

    def text(self) -> str:
        megabytes = 2**20
        if self.device.type == "cuda":
            return (
                f"{self.peak / megabytes:,.0f} MB allocated at peak (torch.cuda.max_memory_"
                f"allocated; {(self.peak - self.start) / megabytes:,.0f} MB above the start)"
            )
        grown = (self.peak - self.start) / megabytes
        return (
            f"+{grown:,.0f} MB max RSS during the step (CPU: resource.getrusage; process "
            f"peak {self.peak / megabytes:,.0f} MB; +0 if below an earlier peak)"
        )


def _max_rss() -> int:
    """The process's peak resident set size in bytes (Linux reports KiB, macOS bytes);
    0 where the ``resource`` module does not exist (Windows)."""
    try:
        import resource
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
