"""``gaitgen search``: rank a gallery for each probe, from two embeddings files.

Both files are ``embeddings.npz`` as ``gaitgen test`` and ``gaitgen extract`` write them.
Distances are OpenGait's (``euc``, ``cos``), computed tile by tile by
:class:`.distance.FeatureDistances` in the evaluator's blocks (:mod:`.tiling`); a running
top-k per probe tile keeps memory bounded by the block sizes whatever the gallery's size,
with no per-probe Python loop.

    ranked = search_files("gallery.npz", "probe.npz", top=5, metric="euc")
    for row in ranked.rows:
        print(row.probe, row.matches[0])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .checks import check_metric
from .distance import FeatureDistances, choose_device
from .embeddings import load_embeddings
from .tiling import BlockSizes, WorkerPool, spans


@dataclass(frozen=True)
class Entry:
    """One sequence of an embeddings file."""

    label: str
    type: str
    view: str

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "type": self.type, "view": self.view}


@dataclass
class ProbeResult:
    """A probe and its nearest gallery entries, nearest first, with their distances."""

    probe: Entry
    matches: list[tuple[Entry, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe.as_dict(),
            "matches": [
                {"rank": rank, **entry.as_dict(), "distance": distance}
                for rank, (entry, distance) in enumerate(self.matches, start=1)
            ],
        }


@dataclass
class SearchResult:
    """The rankings of every probe (``rows``, in the probe file's order)."""

    metric: str
    top: int
    rows: list[ProbeResult]

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "top": self.top,
            "probes": [row.as_dict() for row in self.rows],
        }

    def format(self) -> str:
        """Per probe: its label/type/view, then one line per match with the distance."""
        lines = []
        for number, row in enumerate(self.rows, start=1):
            probe = row.probe
            lines.append(f"probe {number}: {probe.label} {probe.type} {probe.view}")
            for rank, (entry, distance) in enumerate(row.matches, start=1):
                lines.append(
                    f"  {rank:>3}. {entry.label:<12} {entry.type:<8} {entry.view:<6} "
                    f"{self.metric} {distance:.4f}"
                )
        return "\n".join(lines)


def _as_parts(feature: np.ndarray) -> torch.Tensor:
    """``[N, c, p]`` float32 (``[N, c]`` files read as one part)."""
    tensor = torch.from_numpy(np.ascontiguousarray(feature, dtype=np.float32))
    return tensor.unsqueeze(2) if tensor.dim() == 2 else tensor


def top_matches(
    gallery: torch.Tensor,
    probe: torch.Tensor,
    top: int,
    metric: str = "euc",
    device: str | torch.device | None = None,
    sizes: BlockSizes | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``top`` nearest gallery rows of each probe row.

    The evaluator's tiling (:mod:`.tiling`): probe superblocks laid out once, the gallery
    laid out once when it fits one block, and per probe tile (on the worker threads) a band
    of distances to each gallery block, merged into a running top-k.

    Args:
        gallery: ``[G, c, p]`` features.
        probe: ``[P, c, p]`` features.
        top: how many matches per probe (at most ``G``).
        metric: ``"euc"`` or ``"cos"`` (OpenGait's definitions).
        device: where to compute (default: a GPU if there is one).
        sizes: block sizes (default: chosen for the device).

    Returns:
        Distances ``[P, k]`` ascending and gallery indices ``[P, k]``, ``k = min(top, G)``.
    """
    features = torch.cat([gallery, probe])  # [G + P, c, p]: one table for FeatureDistances
    compute = choose_device(features, device)
    distances = FeatureDistances(features, metric, compute)
    sizes = sizes or BlockSizes.for_device(compute)
    g_count, p_count = len(gallery), len(probe)
    k = min(top, g_count)
    best_values = torch.empty(p_count, k, device=compute)
    best_index = torch.empty(p_count, k, dtype=torch.long, device=compute)
    g_blocks = spans(0, g_count, sizes.gallery_block) if g_count else []
    with WorkerPool(compute) as pool:
        whole = None  # the gallery laid out once, when it fits one block
        if len(g_blocks) == 1:
            whole = distances.prepare(torch.arange(g_count), pool, gallery=True)
        for p_start, p_stop in spans(0, p_count, sizes.superblock) if p_count else []:
            probes = distances.prepare(torch.arange(p_start, p_stop) + g_count, pool)
            for g_start, g_stop in g_blocks:
                rows = whole
                if rows is None:
                    rows = distances.prepare(torch.arange(g_start, g_stop), pool, gallery=True)
                tiles = spans(0, g_stop - g_start, sizes.gallery_tile)

                def work(
                    span, probes=probes, p_start=p_start, rows=rows, tiles=tiles, g_start=g_start
                ):
                    i, i_stop = span
                    tile = probes.slice(i - p_start, i_stop - p_start)
                    band = torch.empty(i_stop - i, tiles[-1][1], device=compute)  # [b, g]
                    for j, j_stop in tiles:
                        distances.tile(tile, rows.slice(j, j_stop), out=band[:, j:j_stop])
                    index = torch.arange(g_start, g_start + band.shape[1], device=compute)
                    values, index = band, index.expand(i_stop - i, -1)
                    if g_start > 0:  # merged with the best of the blocks before
                        values = torch.cat([best_values[i:i_stop], values], dim=1)
                        index = torch.cat([best_index[i:i_stop], index], dim=1)
                    values, order = torch.topk(values, k, dim=1, largest=False)
                    best_values[i:i_stop] = values
                    best_index[i:i_stop] = torch.gather(index, 1, order)

                pool.run(work, spans(p_start, p_stop, sizes.probe_tile, pool.workers))
    return (best_values / distances.scale).cpu(), best_index.cpu()


def search_files(
    gallery_path: Path | str,
    probe_path: Path | str,
    top: int = 5,
    metric: str = "euc",
    device: str | None = None,
) -> SearchResult:
    """Rank the gallery file's sequences for each sequence of the probe file.

    Raises:
        DataError: a file is missing or not an embeddings file, the gallery is empty, or
            the two files' features differ in shape.
    """
    check_metric(metric, "--metric")
    if top < 1:
        raise DataError(f"--top: expected a whole number >= 1, got {top}")
    g_feature, g_label, g_type, g_view = load_embeddings(gallery_path)
    p_feature, p_label, p_type, p_view = load_embeddings(probe_path)
    gallery, probe = _as_parts(g_feature), _as_parts(p_feature)
    if len(gallery) == 0:
        raise DataError(f"{gallery_path}: the gallery holds no sequence")
    if gallery.shape[1:] != probe.shape[1:]:
        raise DataError(
            f"{probe_path}: features are {list(probe.shape[1:])} per sequence but the gallery "
            f"{gallery_path} has {list(gallery.shape[1:])}; both files must come from the "
            "same model"
        )
    values, index = top_matches(gallery, probe, top, metric, device)
    entries = [Entry(str(a), str(b), str(c)) for a, b, c in zip(g_label, g_type, g_view)]
    rows = []
    for row, (label, type_, view) in enumerate(zip(p_label, p_type, p_view)):
        matches = [(entries[int(i)], float(d)) for i, d in zip(index[row], values[row])]
        rows.append(ProbeResult(Entry(str(label), str(type_), str(view)), matches))
    return SearchResult(metric, top, rows)
