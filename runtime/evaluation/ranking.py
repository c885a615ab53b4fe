"""Where each probe's true matches land in its ranked gallery, without sorting the gallery.

Rank-k, mAP and mINP only need, for each probe, the positions of its *relevant* gallery
sequences (same subject, not excluded) in the ranking by distance. With the relevant
distances ``r_0 <= r_1 <= ...`` known, the position of ``r_k`` is ``1 + k + (number of
non-relevant gallery sequences closer than r_k)``. Probes are taken in superblocks, each
gathered and laid out once (block sizes and the worker threads: :mod:`.tiling`); for each
superblock:

1. thresholds: probes and gallery are ordered by subject, so each tile of probes finds all
   its relevant sequences in one contiguous slice of the gallery; their distances are
   computed there (a few per cent of the full cost);
2. counts: each probe tile computes its band of distances to the gallery (laid out once
   when it has at most ``gallery_block`` rows, else block by block), tile by tile; the band
   is compared with the thresholds view by view and ``count_chunk`` columns at a time.

When the whole gallery fits one block (``gallery_block`` rows), the two passes are one: each
probe tile's band to the whole gallery gives its thresholds (its own subject's columns) and
is then counted (:func:`_band_pass`; the figures that keep this second path are in its
docstring).

Counting is a strict comparison with a handful of thresholds per probe. Euclidean tile
distances are never negative, so their float32 bit patterns read as int32 are ordered like
the floats: ``(d - r) >> 31`` is ``-1`` exactly when ``d < r`` and a row sum counts them --
three vectorised integer operations per threshold instead of a binary search per distance.
The probe's own subject is masked out only in the tiles where probe and gallery subject
ranges overlap (masking is needed: a threshold computed in pass 1 and the same distance
computed again in a tile of another shape may differ in the last bit).

Nothing of size probes x gallery is ever held, and there is no per-probe Python loop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch
from gaitgen.runtime.evaluation.tiling import BlockSizes, WorkerPool, spans

__all__ = ["BlockSizes", "RankCounts", "WorkerPool", "count_below", "count_ranks"]

INF = float("inf")


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
            ``MatrixDistances``) with ``prepare(rows, pool)``, ``tile(a, b)`` and
            ``nonnegative``.
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
    gallery = _Gallery(
        gallery_rows[g_order], gallery_labels[g_order], gallery_views[g_order], device
    )
    counts = _allocate(p_labels, gallery.labels, num_views, full, per_view, device)
    p_labels_device, p_views_device = p_labels.to(device), p_views.to(device)

    with WorkerPool(device) as pool:
        whole = None  # the gallery laid out once for every probe superblock, when it fits
        if len(gallery.rows) <= sizes.gallery_block:
            whole = distances.prepare(gallery.by_view_rows, pool, gallery=True)
        for p_block in range(0, len(p_rows), sizes.superblock):
            block = _ProbeBlock(
                distances.prepare(p_rows[p_block : p_block + sizes.superblock], pool),
                p_block,
                p_labels[p_block : p_block + sizes.superblock],
                p_labels_device[p_block : p_block + sizes.superblock],
                p_views_device[p_block : p_block + sizes.superblock],
            )
            if whole is not None:
                _band_pass(distances, pool, counts, block, gallery, whole, exclude_same_view, sizes)
            else:
                _thresholds(distances, pool, counts, block, gallery, exclude_same_view, sizes)
                _count_closer(distances, pool, counts, block, gallery, sizes)

    # back to the caller's probe order, on the CPU
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order))
    for name in ("relevant", "closer", "excluded", "view_relevant", "view_closer"):
        value = getattr(counts, name)
        if value is not None:
            setattr(counts, name, value.cpu()[inverse])
    return counts


class _Gallery:
    """The gallery ordered by subject (threshold pass) and by view (count pass)."""

    def __init__(self, rows, labels, views, device) -> None:
        self.rows, self.labels, self.views = rows, labels, views
        self.labels_device, self.views_device = labels.to(device), views.to(device)
        by_view = torch.argsort(views, stable=True)  # subjects stay sorted within a view
        self.by_view_rows = rows[by_view]
        self.by_view_labels = labels[by_view]
        self.by_view_labels_device = self.by_view_labels.to(device)
        self.by_view_views = views[by_view]
        # position in view order of each row in subject order
        self.view_position = torch.empty_like(by_view)
        self.view_position[by_view] = torch.arange(len(by_view))
        self.view_position = self.view_position.to(device)

    def subject_slice(self, labels: torch.Tensor) -> tuple[int, int]:
        """The slice of the subject-ordered gallery holding the subjects of sorted ``labels``."""
        start = int(torch.searchsorted(self.labels, labels[:1]))
        return start, int(torch.searchsorted(self.labels, labels[-1:], right=True))


@dataclass
class _ProbeBlock:
    """A superblock of probes (sorted by subject), gathered and laid out once."""

    prepared: object  # PreparedRows
    start: int
    labels: torch.Tensor  # CPU
    labels_device: torch.Tensor
    views_device: torch.Tensor

    @property
    def stop(self) -> int:
        return self.start + len(self.labels)


def _allocate(p_labels, g_labels, num_views, full, per_view, device) -> RankCounts:
    num_probes = len(p_labels)
    per_label = torch.bincount(g_labels, minlength=int(p_labels.max()) + 1 if num_probes else 1)
    max_relevant = max(int(per_label[p_labels].max()) if num_probes else 0, 1)
    counts = RankCounts(excluded=torch.zeros(num_probes, dtype=torch.long, device=device))
    if full:
        counts.relevant = torch.full((num_probes, max_relevant), INF, device=device)
        counts.closer = torch.zeros(num_probes, max_relevant, dtype=torch.long, device=device)
    if per_view:
        counts.view_relevant = torch.full((num_probes, num_views), INF, device=device)
        counts.view_closer = torch.zeros(num_probes, num_views, dtype=torch.long, device=device)
    return counts


def _thresholds(distances, pool, counts, block, gallery, exclude_same_view, sizes) -> None:
    """Pass 1: the relevant distances of each probe of the block."""

    def work(span: tuple[int, int]) -> None:
        start, stop = span
        local = slice(start - block.start, stop - block.start)
        g_start, g_stop = gallery.subject_slice(block.labels[local])
        if g_stop <= g_start:
            return
        probes = block.prepared.slice(local.start, local.stop)
        chunks = []
        for chunk in range(g_start, g_stop, sizes.superblock):
            rows = distances.prepare(
                gallery.rows[chunk : min(chunk + sizes.superblock, g_stop)], gallery=True
            )
            chunks.append(distances.tile(probes, rows))
        dist = torch.cat(chunks, 1) if len(chunks) > 1 else chunks[0]  # [tile, slice]
        _record_thresholds(counts, block, gallery, start, stop, g_start, g_stop, dist, exclude_same_view)  # fmt: skip

    pool.run(work, spans(block.start, block.stop, sizes.threshold_tile, pool.workers))


def _record_thresholds(
    counts, block, gallery, start, stop, g_start, g_stop, dist, exclude_same_view
) -> None:
    """Relevant distances of probes ``start:stop`` from their distances ``dist`` to the
    subject-ordered gallery slice ``g_start:g_stop``."""
    local = slice(start - block.start, stop - block.start)
    same = block.labels_device[local, None] == gallery.labels_device[None, g_start:g_stop]
    relevant = same
    if exclude_same_view:
        same_view = block.views_device[local, None] == gallery.views_device[None, g_start:g_stop]
        counts.excluded[start:stop] = (same & same_view).sum(1)
        relevant = same & ~same_view
    dist = dist.masked_fill(~relevant, INF)
    if counts.relevant is not None:
        k = min(counts.relevant.shape[1], dist.shape[1])
        counts.relevant[start:stop, :k] = torch.topk(dist, k, dim=1, largest=False).values
    if counts.view_relevant is not None:
        index = gallery.views_device[g_start:g_stop].expand(stop - start, -1)
        counts.view_relevant[start:stop].scatter_reduce_(1, index, dist, "amin")


def _view_runs(views: list[int], start: int, stop: int) -> list[tuple[int, int, int]]:
    """``(a, b, view)`` runs of equal view codes in ``views[start:stop]``."""
    runs, a = [], start
    while a < stop:
        b = a + 1
        while b < stop and views[b] == views[a]:
            b += 1
        runs.append((a, b, views[a]))
        a = b
    return runs


def count_below(values: torch.Tensor, thresholds: torch.Tensor, nonnegative: bool) -> torch.Tensor:
    """``[b, k]``: how many of each row's ``values`` ``[b, g]`` are strictly below each of its
    ``thresholds`` ``[b, k]``.

    With ``nonnegative`` (every value and threshold ``>= +0.0`` or ``+inf``, none NaN) the
    floats are compared through their int32 bit patterns, which are ordered the same way.
    """
    rows, columns = values.shape
    if not nonnegative:
        out = torch.empty(rows, thresholds.shape[1], dtype=torch.long, device=values.device)
        for k in range(thresholds.shape[1]):
            torch.sum(values < thresholds[:, k : k + 1], 1, out=out[:, k])
        return out
    keys, limits = values.view(torch.int32), thresholds.contiguous().view(torch.int32)
    difference = torch.empty(rows, columns, dtype=torch.int32, device=values.device)
    out = torch.empty(thresholds.shape[1], rows, dtype=torch.int32, device=values.device)
    for k in range(thresholds.shape[1]):
        torch.sub(keys, limits[:, k : k + 1], out=difference)  # no overflow: both in [0, 2^31)
        difference.bitwise_right_shift_(31)  # -1 where value < threshold, else 0
        torch.sum(difference, 1, dtype=torch.int32, out=out[k])
    return out.t().neg()


def _count_closer(distances, pool, counts, block, gallery, sizes) -> None:
    """Pass 2: count the non-relevant gallery sequences closer than each threshold, gallery
    block by gallery block."""
    nonnegative = distances.nonnegative
    num_relevant = (
        torch.isfinite(counts.relevant[block.start : block.stop]).sum(1).cpu()
        if counts.relevant is not None
        else None
    )
    views = gallery.by_view_views.tolist()
    labels = gallery.by_view_labels
    chunk = sizes.count_chunk
    device = distances.device
    buffers = threading.local()  # one band buffer per worker thread
    for g_block in range(0, len(views), sizes.gallery_block):
        g_stop = min(g_block + sizes.gallery_block, len(views))
        prepared = distances.prepare(gallery.by_view_rows[g_block:g_stop], pool, gallery=True)
        tile = sizes.gallery_tile
        tiles = [(j, min(j + tile, g_stop)) for j in range(g_block, g_stop, tile)]
        segments = [  # (a, b, view) runs of one view, relative to the block
            (a - g_block, b - g_block, view) for a, b, view in _view_runs(views, g_block, g_stop)
        ]
        # subject range of each tile: the own-subject mask is needed only where they overlap
        ranges = [(int(labels[j:k].min()), int(labels[j:k].max())) for j, k in tiles]

        def work(
            span, prepared=prepared, tiles=tiles, ranges=ranges, segments=segments,
            g_block=g_block, width=g_stop - g_block,
        ) -> None:  # fmt: skip
            i, i_stop = span
            local = slice(i - block.start, i_stop - block.start)
            probe_tile = block.prepared.slice(local.start, local.stop)
            low, high = int(block.labels[local.start]), int(block.labels[local.stop - 1])
            band = getattr(buffers, "band", None)
            if band is None or band.shape[0] < i_stop - i or band.shape[1] < width:
                band = buffers.band = torch.empty(i_stop - i, width, device=device)
            band = band[: i_stop - i, :width]  # [b, block]: distances times scale
            for (j, j_stop), (g_low, g_high) in zip(tiles, ranges, strict=True):
                dist = band[:, j - g_block : j_stop - g_block]
                distances.tile(probe_tile, prepared.slice(j - g_block, j_stop - g_block), out=dist)
                if g_low <= high and low <= g_high:  # the probe's own subject is never closer
                    same = block.labels_device[local, None] == (
                        gallery.by_view_labels_device[None, j:j_stop]
                    )
                    dist.masked_fill_(same, INF)
            used = int(num_relevant[local].max()) if num_relevant is not None else 0
            _count_band(counts, i, i_stop, band, segments, used, chunk, nonnegative)

        pool.run(work, spans(block.start, block.stop, sizes.probe_tile, pool.workers))
        del work, prepared  # freed before the next block is gathered: one block at a time


def _count_band(counts, start, stop, band, segments, used, chunk, nonnegative) -> None:
    """Add the counts of probes ``start:stop`` for their band ``[b, width]`` of distances to
    gallery columns in view order (the probes' own subject already masked with ``inf``).

    ``used``: relevant thresholds to count against (columns past it are ``inf`` for every
    row); ``segments``: the ``(a, b, view)`` column runs of one view.
    """
    if counts.view_relevant is not None:
        nearest = counts.view_relevant[start:stop]
        for a, b, view in segments:
            found = count_below(band[:, a:b], nearest[:, view : view + 1], nonnegative)
            counts.view_closer[start:stop, view] += found[:, 0]
    if used:
        relevant = counts.relevant[start:stop, :used]
        closer = counts.closer[start:stop, :used]
        for c in range(0, band.shape[1], chunk):
            closer += count_below(band[:, c : c + chunk], relevant, nonnegative)


def _band_pass(distances, pool, counts, block, gallery, whole, exclude_same_view, sizes) -> None:
    """Thresholds and counts in one pass, when the gallery is laid out whole (``whole``).

    Each probe tile computes its band of distances to the whole gallery once; its thresholds
    are read from the band's own-subject columns, which are then masked, and the band is
    counted. It saves the threshold pass: ``bench_evaluation.py`` on 2 CPU cores measured the
    two-pass path 8-13% slower on CASIA-B (5,500) and OU-MVLP-250 (7,000) sized sets and
    2-6% on OU-MVLP-500/1000, whose galleries no longer fit one block anyway.
    """
    size = len(gallery.rows)
    tiles = [(j, min(j + sizes.gallery_tile, size)) for j in range(0, size, sizes.gallery_tile)]
    segments = _view_runs(gallery.by_view_views.tolist(), 0, size)
    buffers = threading.local()  # one band buffer per worker thread

    def work(span: tuple[int, int]) -> None:
        start, stop = span
        local = slice(start - block.start, stop - block.start)
        probes = block.prepared.slice(local.start, local.stop)
        band = getattr(buffers, "band", None)
        if band is None or band.shape[0] < stop - start:
            band = buffers.band = torch.empty(stop - start, size, device=distances.device)
        band = band[: stop - start]  # [b, G]: distances times scale, gallery in view order
        for j, j_stop in tiles:
            distances.tile(probes, whole.slice(j, j_stop), out=band[:, j:j_stop])
        g_start, g_stop = gallery.subject_slice(block.labels[local])
        if g_stop > g_start:
            columns = gallery.view_position[g_start:g_stop]
            own = band.index_select(1, columns)  # [b, m] the probes' subjects' columns
            _record_thresholds(counts, block, gallery, start, stop, g_start, g_stop, own, exclude_same_view)  # fmt: skip
            same = block.labels_device[local, None] == gallery.labels_device[None, g_start:g_stop]
            band.index_copy_(1, columns, own.masked_fill_(same, INF))
        used = 0
        if counts.relevant is not None:
            used = int(torch.isfinite(counts.relevant[start:stop]).sum(1).max())
        _count_band(
            counts, start, stop, band, segments, used, sizes.count_chunk, distances.nonnegative
        )

    pool.run(work, spans(block.start, block.stop, sizes.probe_tile, pool.workers))
