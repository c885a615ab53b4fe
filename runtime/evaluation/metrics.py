"""OpenGait's numbers from the ranking counts of :mod:`.ranking`.

Rank-1 per (probe view, gallery view) pair rounded to 2 decimals and averaged without
identical views (single-view gallery), rank-1 and mAP per probe view (cross-view gallery),
or rank-1/5/10, mAP and mINP (real-scene protocols).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
from gaitgen.runtime.evaluation.protocols import Protocol
from gaitgen.runtime.evaluation.ranking import RankCounts
from gaitgen.runtime.evaluation.result import ViewCondition


def percent(hits: np.ndarray, total: int, round_it: bool) -> float:
    """``hits.sum()`` as a percentage of ``total`` (NaN when it is 0), rounded if asked."""
    if total == 0:
        return float("nan")
    value = float(hits.sum()) * 100.0 / total
    return float(np.round(value, 2)) if round_it else value


def pair_matrix(
    view_relevant: np.ndarray,
    view_closer: np.ndarray,
    in_condition: np.ndarray,
    probe_view: np.ndarray,
    num_views: int,
    rank: int,
    remove: bool,
    round_it: bool,
) -> np.ndarray:
    """Rank-k (%) of each probe view against each gallery view, NaN where no probe (of the
    ``in_condition`` mask over the counted probes) has that view; rounded to 2 decimals
    if ``round_it`` (OpenGait's ``np.round(..., 2)``)."""
    has_match = np.isfinite(view_relevant[in_condition])  # [n, V]
    hits = has_match & (view_closer[in_condition] < rank)
    one_hot = probe_view[in_condition][:, None] == np.arange(num_views)[None, :]  # [n, V]
    one_hot = one_hot.astype(np.float64)
    hit_counts = one_hot.T @ hits  # [probe view, gallery view]
    if remove:  # only probes with a match in that gallery view count
        totals = one_hot.T @ has_match
    else:
        totals = np.repeat(one_hot.sum(0)[:, None], num_views, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = hit_counts * 100.0 / totals
    if round_it:
        matrix = np.round(matrix, 2)
    matrix[totals == 0] = np.nan
    return matrix


@contextmanager
def _quiet_nanmean():
    """Silence numpy's 'mean of empty slice' warning: empty rows are NaN on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _off_diagonal_mean(matrix: np.ndarray, exclude: bool) -> np.ndarray:
    """Per probe view: the mean over gallery views, identical view left out (OpenGait's de_diag)."""
    values = matrix.copy()
    if exclude:
        np.fill_diagonal(values, np.nan)
    with np.errstate(invalid="ignore"), _quiet_nanmean():
        return np.nanmean(values, axis=1)


def _mean(values: np.ndarray) -> float:
    with _quiet_nanmean():
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _nan_to_none(matrix: np.ndarray) -> list[list[float | None]]:
    return [[None if np.isnan(x) else float(x) for x in row] for row in matrix]


def single_view_condition(
    protocol: Protocol,
    counts: RankCounts,
    in_condition: np.ndarray,
    probe_view: np.ndarray,
    view_list: list[str],
    remove: bool,
) -> ViewCondition:
    """Single-view gallery: rank-k per probe view (mean over gallery views) and the rank-1
    pair matrix, for the probes ``in_condition`` (a mask over the counted probes)."""
    relevant, closer = counts.view_relevant.numpy(), counts.view_closer.numpy()
    num_views = len(view_list)
    means, per_view, pair = {}, {}, None
    for rank in protocol.ranks:
        matrix = pair_matrix(
            relevant, closer, in_condition, probe_view, num_views, rank, remove,
            protocol.round_to_hundredths,
        )  # fmt: skip
        by_view = _off_diagonal_mean(matrix, protocol.exclude_identical_view)
        means[f"rank{rank}"] = _mean(by_view)
        per_view[f"rank{rank}"] = dict(zip(view_list, by_view.tolist(), strict=True))
        if rank == 1:
            pair = matrix
    return ViewCondition(means, per_view, _nan_to_none(pair))


def ranking_metrics(counts: RankCounts) -> dict[str, np.ndarray]:
    """Per probe: whether it has a match (``has``), the first match's position (``first``),
    average precision (``ap``) and inverse negative penalty (``inp``)."""
    num_relevant = counts.num_relevant.numpy()
    closer = counts.closer.numpy().astype(np.float64)
    k = np.arange(closer.shape[1], dtype=np.float64)
    position = 1.0 + k[None, :] + closer  # 1-based position of each relevant sequence
    valid = k[None, :] < num_relevant[:, None]
    has = num_relevant > 0
    safe = np.maximum(num_relevant, 1)
    average_precision = np.where(valid, (k[None, :] + 1) / position, 0.0).sum(1) / safe
    last = position[np.arange(len(position)), np.maximum(num_relevant - 1, 0)]
    inverse_negative_penalty = num_relevant / last
    first = np.where(has, position[:, 0], np.inf)
    return {"has": has, "first": first, "ap": average_precision, "inp": inverse_negative_penalty}


def cross_view_condition(
    protocol: Protocol,
    counts: RankCounts,
    in_condition: np.ndarray,
    probe_view: np.ndarray,
    view_list: list[str],
    remove: bool,
) -> ViewCondition:
    """Cross-view gallery: rank-1 and mAP per probe view, and the rank-1 pair matrix."""
    metrics = ranking_metrics(counts)
    num_views = len(view_list)
    rank1 = np.full(num_views, np.nan)
    mean_ap = np.full(num_views, np.nan)
    for v in range(num_views):
        selected = in_condition & (probe_view == v)
        if not selected.any():
            continue
        counted = selected & metrics["has"] if remove else selected
        rank1[v] = percent(metrics["first"][counted] <= 1, int(counted.sum()), protocol.round_to_hundredths)  # fmt: skip
        matched = selected & metrics["has"]
        if matched.any():
            value = float(metrics["ap"][matched].mean()) * 100
            mean_ap[v] = float(np.round(value, 2)) if protocol.round_to_hundredths else value
    pair = pair_matrix(
        counts.view_relevant.numpy(),
        counts.view_closer.numpy(),
        in_condition,
        probe_view,
        num_views,
        1,
        remove,
        protocol.round_to_hundredths,
    )
    np.fill_diagonal(pair, np.nan)  # the probe's own view holds none of its matches
    return ViewCondition(
        {"rank1": _mean(rank1), "mAP": _mean(mean_ap)},
        {
            "rank1": dict(zip(view_list, rank1.tolist(), strict=True)),
            "mAP": dict(zip(view_list, mean_ap.tolist(), strict=True)),
        },
        _nan_to_none(pair),
    )


def real_scene_values(
    metrics: dict[str, np.ndarray],
    remove: bool,
    round_it: bool,
    ranks: tuple[int, ...] = (1, 5, 10),
) -> dict[str, float]:
    """Rank-k (%) for each of ``ranks``, mAP and mINP (%) from :func:`ranking_metrics`;
    probes without a match count as misses unless ``remove``. mAP and mINP are over probes
    with a match."""
    has = metrics["has"]
    counted = has if remove else np.ones_like(has)
    values = {
        f"rank{k}": percent(metrics["first"][counted] <= k, int(counted.sum()), round_it)
        for k in ranks
    }
    values["mAP"] = float(metrics["ap"][has].mean()) * 100
    values["mINP"] = float(metrics["inp"][has].mean()) * 100
    return values
