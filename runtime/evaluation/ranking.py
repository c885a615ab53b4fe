"""Where each probe's true matches land in its ranked gallery, without sorting the gallery.

Rank-k, mAP and mINP only need, for each probe, the positions of its *relevant* gallery
sequences (same subject, not excluded) in the ranking by distance. With the relevant
distances ``r_0 <= r_1 <= ...`` known, the position of ``r_k`` is ``1 + k + (number of
non-relevant gallery sequences closer than r_k)``. So the work is two passes:

1. thresholds: probes and gallery are ordered by subject, so each small block of probes
   finds all its relevant sequences in one contiguous slice of the gallery; their
   distances are computed there (a few per cent of the full cost);
2. counts: every probe block against every gallery block, tile by tile; each tile's
   distances are compared with the thresholds (``torch.searchsorted`` for the full ranking,
   one comparison per tile for the single-view gallery) and the counts added up.

Nothing of size probes x gallery is ever held, and there is no per-probe Python loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

INF = float("inf")


@dataclass
class BlockSizes:
    """Block sizes: ``superblock`` rows are gathered at once, tiles are computed at once."""

    superblock: int = 4096
    probe_tile: int = 512
    gallery_tile: int = 256
    threshold_tile: int = 128

    @classmethod
    def for_device(cls, device: torch.device) -> BlockSizes:
        """Tiles that keep a CPU's caches warm, or a GPU busy."""
        if device.type == "cuda":
            return cls(superblock=16384, probe_tile=2048, gallery_tile=2048, threshold_tile=1024)
        return cls()


class WorkerPool:
    """Tiles run by one thread per CPU core, each doing single-threaded torch operations.

    On a CPU, torch would split every operation over its threads and wait for all of them
    at the end; with many mid-sized operations per tile that waiting dominates, badly so
    when other processes share the cores. Independent tiles on separate threads (torch
    releases the GIL) keep every core busy with no waiting. On a GPU tiles run in order.
    """

    def __init__(self, device: torch.device) -> None:
        self.workers = torch.get_num_threads() if device.type == "cpu" else 1
        self._executor: ThreadPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        if self.workers > 1:
            torch.set_num_threads(1)
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="gaitgen-eval")
        return self

    def __exit__(self, *exc) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            torch.set_num_threads(self.workers)

    def run(self, work: Callable[[int], None], items: Iterable[int]) -> None:
        """Call ``work(item)`` for every item, in parallel when there are several cores."""
        if self._executor is None:
            for item in items:
                work(item)
        else:
            for _ in self._executor.map(work, items):  # re-raises a worker's exception
                pass


@dataclass
class RankCounts:
    """Per-probe ranking facts (probes in the order given).

    Attributes:
        relevant: ``[P, R]`` relevant distances, ascending, ``inf``-padded (full ranking).
        closer: ``[P, R]`` non-relevant gallery sequences strictly closer than each one.
        excluded: ``[P]`` gallery sequences removed for the probe (same subject and view).
        view_relevant: ``[P, V]`` nearest relevant distance in each gallery view (``inf``:
            none there).
        view_closer: ``[P, V]`` non-relevant sequences of that view strictly closer.
    """

    relevant: torch.Tensor | None = None
    closer: torch.Tensor | None = None
    excluded: torch.Tensor | None = None
    view_relevant: torch.Tensor | None = None
    view_closer: torch.Tensor | None = None

    @property
    def num_relevant(self) -> torch.Tensor:
        """``[P]`` relevant gallery sequences per probe (full ranking only)."""
        return torch.isfinite(self.relevant).sum(1)


def count_ranks(
    distances,
    probe_rows: torch.Tensor,
    probe_labels: torch.Tensor,
    probe_views: torch.Tensor,
    gallery_rows: torch.Tensor,
    gallery_labels: torch.Tensor,
    gallery_views: torch.Tensor,
    num_views: int,
    *,
    exclude_same_view: bool,
    full: bool,
    per_view: bool,
    sizes: BlockSizes | None = None,
) -> RankCounts:
    """Count, for every probe, the gallery sequences ranked before each true match.

    Args:
        distances: a :class:`~gaitgen.runtime.evaluation.distance.FeatureDistances` (or
            ``MatrixDistances``) with ``prepare(rows)`` and ``tile(a, b)``.
        probe_rows, gallery_rows: int64 feature rows.
        probe_labels, gallery_labels: int64 subject codes.
        probe_views, gallery_views: int64 view codes in ``[0, num_views)``.
        num_views: number of view codes.
        exclude_same_view: remove gallery sequences of the probe's subject *and* view
            (OpenGait's cross-view gallery).
        full: compute the whole ranking of relevant sequences (for mAP, mINP, rank-k).
        per_view: compute the first relevant position within each gallery view.
        sizes: block sizes (default: chosen for the device).

    Returns:
        The counts, for probes in the given order.
    """
    device = distances.device
    sizes = sizes or BlockSizes.for_device(device)
    order = torch.argsort(probe_labels, stable=True)
    p_rows, p_labels, p_views = probe_rows[order], probe_labels[order], probe_views[order]
    g_order = torch.argsort(gallery_labels, stable=True)
    g_rows, g_labels, g_views = (
        gallery_rows[g_order],
        gallery_labels[g_order],
        gallery_views[g_order],
    )

    with WorkerPool(device) as pool:
        counts = _thresholds(
            distances, pool, p_rows, p_labels, p_views, g_rows, g_labels, g_views, num_views,
            exclude_same_view=exclude_same_view, full=full, per_view=per_view, sizes=sizes,
        )  # fmt: skip
        _count_closer(distances, pool, counts, p_rows, p_labels, g_rows, g_labels, g_views, sizes)

    # back to the caller's probe order, on the CPU
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order))
    for name in ("relevant", "closer", "excluded", "view_relevant", "view_closer"):
        value = getattr(counts, name)
        if value is not None:
            setattr(counts, name, value.cpu()[inverse])
    return counts


def _thresholds(
    distances, pool, p_rows, p_labels, p_views, g_rows, g_labels, g_views, num_views,
    *, exclude_same_view, full, per_view, sizes,
) -> RankCounts:  # fmt: skip
    """Pass 1: the relevant distances of each probe (probes and gallery sorted by subject)."""
    device = distances.device
    num_probes = len(p_rows)
    per_label = torch.bincount(g_labels, minlength=int(p_labels.max()) + 1 if num_probes else 1)
    max_relevant = max(int(per_label[p_labels].max()) if num_probes else 0, 1)
    counts = RankCounts(excluded=torch.zeros(num_probes, dtype=torch.long, device=device))
    if full:
        counts.relevant = torch.full((num_probes, max_relevant), INF, device=device)
    if per_view:
        counts.view_relevant = torch.full((num_probes, num_views), INF, device=device)

    def work(start: int) -> None:
        stop = min(start + sizes.threshold_tile, num_probes)
        labels = p_labels[start:stop]
        g_start = int(torch.searchsorted(g_labels, labels[:1]))
        g_stop = int(torch.searchsorted(g_labels, labels[-1:], right=True))
        if g_stop <= g_start:
            return
        probes = distances.prepare(p_rows[start:stop])
        chunks = []
        for chunk in range(g_start, g_stop, sizes.superblock):
            gallery = distances.prepare(g_rows[chunk : min(chunk + sizes.superblock, g_stop)])
            chunks.append(distances.tile(probes, gallery))
        dist = torch.cat(chunks, 1) if len(chunks) > 1 else chunks[0]  # [tile, slice]
        same = labels.to(device)[:, None] == g_labels[g_start:g_stop].to(device)[None, :]
        if exclude_same_view:
            probe_views = p_views[start:stop].to(device)[:, None]
            same_view = probe_views == g_views[g_start:g_stop].to(device)[None, :]
            counts.excluded[start:stop] = (same & same_view).sum(1)
            same &= ~same_view
        dist = dist.masked_fill(~same, INF)
        if full:
            k = min(max_relevant, dist.shape[1])
            counts.relevant[start:stop, :k] = torch.topk(dist, k, dim=1, largest=False).values
        if per_view:
            index = g_views[g_start:g_stop].to(device).expand(stop - start, -1)
            counts.view_relevant[start:stop].scatter_reduce_(1, index, dist, "amin")

    pool.run(work, range(0, num_probes, sizes.threshold_tile))
    if full:
        counts.closer = torch.zeros(num_probes, max_relevant + 1, device=device)
    if per_view:
        counts.view_closer = torch.zeros(num_probes, num_views, dtype=torch.long, device=device)
    return counts


def _view_segments(views: torch.Tensor, tile: int) -> list[tuple[int, int, int]]:
    """``(start, stop, view)`` chunks of a view-sorted gallery, none crossing a view edge."""
    segments, start = [], 0
    values, lengths = torch.unique_consecutive(views, return_counts=True)
    for view, length in zip(values.tolist(), lengths.tolist(), strict=True):
        for chunk in range(start, start + length, tile):
            segments.append((chunk, min(chunk + tile, start + length), view))
        start += length
    return segments


def _superblocks(
    segments: list[tuple[int, int, int]], size: int
) -> list[list[tuple[int, int, int]]]:
    """Consecutive segments grouped into blocks of at most ``size`` rows (at least one each)."""
    groups: list[list[tuple[int, int, int]]] = [[]]
    for segment in segments:
        if groups[-1] and segment[1] - groups[-1][0][0] > size:
            groups.append([])
        groups[-1].append(segment)
    return groups


def _count_closer(
    distances, pool, counts, p_rows, p_labels, g_rows, g_labels, g_views, sizes
) -> None:
    """Pass 2: count the non-relevant gallery sequences closer than each threshold.

    The gallery is walked in view order, in tiles that stay within one view, so a tile's
    per-view threshold is one column and its count one sum.
    """
    device = distances.device
    num_probes = len(p_rows)
    max_relevant = counts.relevant.shape[1] if counts.relevant is not None else 0
    ones = torch.ones(sizes.probe_tile, sizes.gallery_tile, device=device)
    by_view = torch.argsort(g_views, stable=True)
    g_rows, g_labels, g_views = g_rows[by_view], g_labels[by_view], g_views[by_view]
    segments = _view_segments(g_views, sizes.gallery_tile)
    p_labels, g_labels = p_labels.to(device), g_labels.to(device)
    for p_block in range(0, num_probes, sizes.superblock):
        p_stop = min(p_block + sizes.superblock, num_probes)
        probes = distances.prepare(p_rows[p_block:p_stop], pool)
        for group in _superblocks(segments, sizes.superblock):
            g_block = group[0][0]
            gallery = distances.prepare(g_rows[g_block : group[-1][1]], pool)

            def work(i: int, p_block=p_block, p_stop=p_stop, group=group, g_block=g_block,
                     probes=probes, gallery=gallery) -> None:  # fmt: skip
                i_stop = min(i + sizes.probe_tile, p_stop)
                probe_tile = probes.slice(i - p_block, i_stop - p_block)
                labels = p_labels[i:i_stop, None]
                for j, j_stop, view in group:
                    dist = distances.tile(probe_tile, gallery.slice(j - g_block, j_stop - g_block))
                    # the probe's own subject is never a "closer" sequence
                    dist.masked_fill_(labels == g_labels[None, j:j_stop], INF)
                    if counts.view_closer is not None:
                        nearest = counts.view_relevant[i:i_stop, view : view + 1]
                        counts.view_closer[i:i_stop, view] += (dist < nearest).sum(1)
                    if counts.closer is not None:
                        bins = torch.searchsorted(counts.relevant[i:i_stop], dist, right=True)
                        counts.closer[i:i_stop].scatter_add_(
                            1, bins, ones[: i_stop - i, : j_stop - j]
                        )

            pool.run(work, range(p_block, p_stop, sizes.probe_tile))
    if counts.closer is not None:
        # bin m holds sequences with exactly m thresholds <= d: closer than r_k = bins 0..k
        counts.closer = counts.closer.cumsum(1)[:, :max_relevant].round().long()
