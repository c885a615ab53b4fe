"""``evaluate``: embeddings + labels + a protocol -> an :class:`EvaluationResult`.

This module chooses probe and gallery sequences, checks the input, and turns the per-probe
ranking counts of :mod:`.ranking` into OpenGait's numbers: rank-1 per (probe view, gallery
view) pair rounded to 2 decimals and averaged without identical views (single-view
gallery), rank-1 and mAP per probe view (cross-view gallery), or rank-1/5/10, mAP and mINP
(real-scene protocols).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gaitgen.runtime.errors import ConfigError, DataError, did_you_mean
from gaitgen.runtime.evaluation.distance import (
    METRICS,
    FeatureDistances,
    MatrixDistances,
    choose_device,
)
from gaitgen.runtime.evaluation.protocols import (
    EVAL_FUNCS,
    PROTOCOLS,
    REAL_SCENE,
    UNSUPPORTED_EVAL_FUNCS,
    VIEW,
    Protocol,
    resolve_protocol,
)
from gaitgen.runtime.evaluation.ranking import RankCounts, count_ranks
from gaitgen.runtime.evaluation.rerank import k_reciprocal_rerank
from gaitgen.runtime.evaluation.result import EvaluationResult, ViewCondition

RERANK_DEFAULTS = {"k1": 20, "k2": 6, "lambda_value": 0.3}


def evaluate(
    feature,
    label: Sequence[str],
    type: Sequence[str],  # noqa: A002 - OpenGait's name for the sequence type
    view: Sequence[str],
    *,
    protocol: str | Mapping[str, Any] | Protocol | None = None,
    dataset_name: str | None = None,
    metric: str = "euc",
    cross_view: bool = False,
    rerank: bool | Mapping[str, Any] = False,
    device: str | torch.device | None = None,
    remove_no_gallery: bool = False,
    probe_set: Sequence[str] | None = None,
) -> EvaluationResult:
    """Evaluate a test set's embeddings under a gait-recognition protocol.

    Args:
        feature: ``[N, c, p]`` embeddings (numpy array or torch tensor, CPU or GPU).
        label, type, view: ``N`` subject ids, sequence types and views (strings).
        protocol: a preset name (``"CASIA-B"``, ``"OU-MVLP"``, ``"CASIA-E"``,
            ``"SUSTech1K"``, ``"GREW"``, ``"Gait3D"``, ...), a custom-protocol mapping, or
            ``None`` to choose the preset from ``dataset_name`` as OpenGait does.
        dataset_name: the dataset (``data_cfg.test_dataset_name``).
        metric: ``"euc"`` or ``"cos"`` (OpenGait's definitions).
        cross_view: use the cross-view gallery instead of the single-view one.
        rerank: apply k-reciprocal re-ranking; a mapping sets ``k1``, ``k2``,
            ``lambda_value``.
        device: where to compute (default: the features' GPU, any GPU, else the CPU).
        remove_no_gallery: leave probes whose subject has no gallery sequence out of the
            accuracy denominators instead of counting them as misses.
        probe_set: ``label-type-view`` names of the probes (Gait3D).

    Returns:
        The result (``to_dict()``, ``format_table()``, ``save(run_dir)``).

    Raises:
        ConfigError: unknown protocol or metric, or options that do not fit the protocol.
        DataError: inconsistent input, or a probe set without any gallery to search.
    """
    chosen = resolve_protocol(protocol, dataset_name)
    if metric not in METRICS:
        raise ConfigError(f"metric: unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    if cross_view and chosen.kind != VIEW:
        raise ConfigError(
            f"cross_view_gallery: the {chosen.name} protocol has one gallery (real-scene); "
            "set cross_view_gallery to false"
        )
    features = _check_feature(feature)
    labels, types, views = (
        _check_strings(values, name, len(features))
        for values, name in ((label, "label"), (type, "type"), (view, "view"))
    )
    device = choose_device(features, device)
    label_codes = np.unique(labels, return_inverse=True)[1].astype(np.int64)
    rerank_params = _rerank_params(rerank)
    context = _Context(chosen, features, label_codes, types, views, metric, device, rerank_params)
    context.label_text = labels
    remove = remove_no_gallery or chosen.remove_no_gallery
    if chosen.kind == VIEW:
        result = _evaluate_views(context, cross_view, remove)
    else:
        result = _evaluate_real_scene(context, remove, probe_set)
    if rerank_params is not None:
        result.metric += "+rerank"
    return result


def evaluate_from_config(
    cfgs: Mapping[str, Any],
    feature,
    label: Sequence[str],
    type: Sequence[str],  # noqa: A002
    view: Sequence[str],
    device: str | torch.device | None = None,
) -> EvaluationResult:
    """Evaluate with the settings of a resolved OpenGait-schema config.

    Reads ``data_cfg.test_dataset_name`` (else ``dataset_name``), ``data_cfg.remove_no_gallery``,
    ``data_cfg.dataset_partition`` (its ``PROBE_SET``, for Gait3D), and from ``evaluator_cfg``:
    ``eval_func`` (OpenGait's function names), ``metric``, ``cross_view_gallery``, and gaitgen's
    ``protocol`` (a preset name or a custom-protocol mapping, overriding the dataset's
    preset), ``rerank`` (bool or ``{k1, k2, lambda_value}``) and ``probe_set`` (a JSON file
    with the probe names, overriding the partition's ``PROBE_SET``).

    Raises:
        ConfigError: a key holds a value that cannot be used; the message names the key.
    """
    data_cfg = cfgs.get("data_cfg") or {}
    evaluator_cfg = cfgs.get("evaluator_cfg") or {}
    dataset_name = data_cfg.get("test_dataset_name") or data_cfg.get("dataset_name")
    eval_func = evaluator_cfg.get("eval_func") or "identification"
    if eval_func in UNSUPPORTED_EVAL_FUNCS:
        raise ConfigError(
            f"evaluator_cfg.eval_func: {eval_func!r} is not supported by gaitgen's evaluator; "
            f"use one of {', '.join(EVAL_FUNCS)}"
        )
    if eval_func not in EVAL_FUNCS:
        raise ConfigError(
            f"evaluator_cfg.eval_func: unknown evaluation function {eval_func!r}"
            f"{did_you_mean(str(eval_func), EVAL_FUNCS)}; known: {', '.join(EVAL_FUNCS)}"
        )
    custom = evaluator_cfg.get("protocol")
    if custom is not None:
        chosen = resolve_protocol(custom, None, "evaluator_cfg.protocol")
    elif eval_func == "evaluate_Gait3D":
        chosen = PROTOCOLS["Gait3D"]
    else:
        if dataset_name is None:
            raise ConfigError(
                "data_cfg.test_dataset_name: missing (and no data_cfg.dataset_name); "
                "it selects the evaluation protocol"
            )
        chosen = resolve_protocol(None, dataset_name, "data_cfg.test_dataset_name")
        expected = EVAL_FUNCS[eval_func]
        if expected is not None and chosen.kind != expected:
            fitting = "evaluate_indoor_dataset" if chosen.kind == VIEW else "evaluate_real_scene"
            raise ConfigError(
                f"evaluator_cfg.eval_func: {eval_func!r} does not fit dataset {dataset_name!r} "
                f"(a {chosen.kind.replace('_', '-')} protocol); use {fitting!r}"
            )
    probe_set = None
    if chosen.probe_set:
        probe_set = _read_probe_set(evaluator_cfg.get("probe_set"), data_cfg)
    return evaluate(
        feature,
        label,
        type,
        view,
        protocol=chosen,
        metric=str(evaluator_cfg.get("metric", "euc")),
        cross_view=bool(evaluator_cfg.get("cross_view_gallery", False)),
        rerank=evaluator_cfg.get("rerank", False) or False,
        device=device,
        remove_no_gallery=bool(data_cfg.get("remove_no_gallery", False)),
        probe_set=probe_set,
    )


# ----------------------------------------------------------------------------- input checks


def _check_feature(feature) -> torch.Tensor:
    tensor = feature if isinstance(feature, torch.Tensor) else torch.from_numpy(np.asarray(feature))
    if not tensor.is_floating_point():
        raise DataError(f"feature: expected floating-point embeddings, got {tensor.dtype}")
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(2)  # [N, c] -> [N, c, 1]: one part
    if tensor.dim() != 3:
        raise DataError(f"feature: expected [N, c, p] embeddings, got shape {tuple(tensor.shape)}")
    if len(tensor) == 0:
        raise DataError("feature: no embeddings (N = 0)")
    # NaN/inf are caught where rows are gathered (distance.FeatureDistances.prepare)
    return tensor


def _check_strings(values: Sequence[str], name: str, expected: int) -> np.ndarray:
    array = np.asarray(values).astype(str)
    if array.ndim != 1:
        raise DataError(f"{name}: expected one string per sequence, got shape {array.shape}")
    if len(array) != expected:
        raise DataError(f"{name}: {len(array)} entries for {expected} embeddings; they must match")
    return array


def _rerank_params(rerank: bool | Mapping[str, Any]) -> dict[str, Any] | None:
    if rerank is False or rerank is None:
        return None
    if rerank is True:
        return dict(RERANK_DEFAULTS)
    if not isinstance(rerank, Mapping):
        raise ConfigError(f"evaluator_cfg.rerank: expected true/false or a mapping, got {rerank!r}")
    params = dict(RERANK_DEFAULTS)
    for key, value in rerank.items():
        key = "lambda_value" if key == "lambda" else key
        if key not in RERANK_DEFAULTS:
            raise ConfigError(
                f"evaluator_cfg.rerank.{key}: unknown key{did_you_mean(str(key), RERANK_DEFAULTS)}"
            )
        params[key] = value
    return params


def _read_probe_set(explicit: str | None, data_cfg: Mapping[str, Any]) -> list[str]:
    source = explicit or data_cfg.get("dataset_partition")
    key = "evaluator_cfg.probe_set" if explicit else "data_cfg.dataset_partition"
    if not source:
        raise ConfigError(
            f"{key}: the Gait3D protocol takes its probes from the partition's PROBE_SET; "
            "set data_cfg.dataset_partition (or evaluator_cfg.probe_set)"
        )
    return load_probe_set(source, key)


def load_probe_set(path: str | Path, where: str = "probe set") -> list[str]:
    """Read probe names (``label-type-view``) from a JSON list or a partition's ``PROBE_SET``."""
    try:
        content = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read {path} ({exc})") from None
    if isinstance(content, dict):
        content = content.get("PROBE_SET")
    if not isinstance(content, list) or not content:
        raise ConfigError(f"{where}: {path} holds no PROBE_SET list of probe names")
    return [str(name) for name in content]


# ----------------------------------------------------------------------------- computation


class _Context:
    """What both protocol kinds need: the data, the distance source and the settings."""

    def __init__(self, protocol, features, labels, types, views, metric, device, rerank):
        self.protocol = protocol
        self.features = features
        self.labels = labels
        self.types = types
        self.views = views
        self.metric = metric
        self.device = device
        self.rerank = rerank
        self.label_text = np.asarray([], dtype=str)

    def match(self, wanted: Sequence[str]) -> np.ndarray:
        """Sequences whose type is one of ``wanted`` (or contains one, for substring)."""
        if self.protocol.type_match == "substring":
            found = [np.char.find(self.types, w) >= 0 for w in wanted]
            return np.any(found, axis=0) if found else np.zeros(len(self.types), bool)
        return np.isin(self.types, list(wanted))

    def distances(self, probe_rows: np.ndarray, gallery_rows: np.ndarray):
        """The distance source: features directly, or re-ranked distances."""
        plain = FeatureDistances(self.features, self.metric, self.device)
        if self.rerank is None:
            return plain
        probes, gallery = torch.from_numpy(probe_rows), torch.from_numpy(gallery_rows)
        every = torch.cat([probes, gallery])
        full = plain.matrix(every, every)
        reranked = k_reciprocal_rerank(full, len(probes), **self.rerank)
        return MatrixDistances(reranked, probes, gallery)

    def counts(self, probe_rows, gallery_rows, view_codes, num_views, **options) -> RankCounts:
        return count_ranks(
            self.distances(probe_rows, gallery_rows),
            torch.from_numpy(probe_rows),
            torch.from_numpy(self.labels[probe_rows]),
            torch.from_numpy(view_codes[probe_rows]),
            torch.from_numpy(gallery_rows),
            torch.from_numpy(self.labels[gallery_rows]),
            torch.from_numpy(view_codes[gallery_rows]),
            num_views,
            **options,
        )


def _percent(hits: np.ndarray, total: int, round_it: bool) -> float:
    if total == 0:
        return float("nan")
    value = float(hits.sum()) * 100.0 / total
    return float(np.round(value, 2)) if round_it else value


def _describe(types: Sequence[str]) -> str:
    return ", ".join(types) if len(types) <= 6 else f"{', '.join(types[:6])}, ..."


def _evaluate_views(context: _Context, cross_view: bool, remove: bool) -> EvaluationResult:
    protocol = context.protocol
    view_list = sorted(set(context.views.tolist()) - set(protocol.ignored_views))
    known = np.asarray(view_list, dtype=context.views.dtype)
    position = np.minimum(np.searchsorted(known, context.views), max(len(known) - 1, 0))
    found = known[position] == context.views if len(known) else np.zeros(len(context.views), bool)
    view_codes = np.where(found, position, -1).astype(np.int64)
    in_views = view_codes >= 0
    conditions = protocol.probe_conditions(cross_view)
    gallery_types = protocol.gallery(cross_view)
    condition_masks = {name: context.match(t) & in_views for name, t in conditions.items()}
    gallery_mask = context.match(gallery_types) & in_views
    probe_mask = np.any(list(condition_masks.values()), axis=0)
    probe_types = sorted({t for types in conditions.values() for t in types})
    if not probe_mask.any():
        raise DataError(
            f"{protocol.name} protocol: no probe sequences (types {_describe(probe_types)}) "
            f"among the {len(context.types)} sequences; check the dataset or choose another protocol"
        )
    if not gallery_mask.any():
        raise DataError(
            f"{protocol.name} protocol: no gallery sequences (types {_describe(gallery_types)}); "
            "every probe view needs a gallery to search"
        )
    gallery_views = set(view_codes[gallery_mask].tolist())
    missing = [view_list[v] for v in range(len(view_list)) if v not in gallery_views]
    if missing and not cross_view:
        probe_views = sorted({context.views[i] for i in np.flatnonzero(probe_mask)})
        raise DataError(
            f"{protocol.name} protocol: no gallery for probe views {', '.join(probe_views)} in "
            f"gallery view(s) {', '.join(missing)} (gallery types {_describe(gallery_types)}); "
            "add those sequences, or use the cross-view gallery (--cross-view)"
        )
    probe_rows = np.flatnonzero(probe_mask)
    gallery_rows = np.flatnonzero(gallery_mask)
    counts = context.counts(
        probe_rows, gallery_rows, view_codes, len(view_list),
        exclude_same_view=cross_view, full=cross_view, per_view=True,
    )  # fmt: skip
    if cross_view:
        empty = (len(gallery_rows) - counts.excluded.numpy()) <= 0
        if empty.any():
            raise DataError(
                f"{protocol.name} protocol: no gallery left for {int(empty.sum())} probe(s) "
                "after excluding identical-view cases"
            )
    probe_view = view_codes[probe_rows]
    result = EvaluationResult(
        protocol=protocol.name + (" cross-view" if cross_view else ""),
        metric=context.metric,
        kind=VIEW,
        views=view_list,
        exclude_identical_view=protocol.exclude_identical_view or cross_view,
    )
    for name, mask in condition_masks.items():
        in_condition = mask[probe_rows]
        if not in_condition.any():
            result.notes.append(f"{name}: no probe sequences (types {_describe(conditions[name])})")
            continue
        if cross_view:
            condition = _cross_view_condition(
                protocol, counts, in_condition, probe_view, view_list, remove
            )
        else:
            condition = _single_view_condition(
                protocol, counts, in_condition, probe_view, view_list, remove
            )
        skipped = [v for v in view_list if np.isnan(condition.per_view["rank1"].get(v, np.nan))]
        if skipped:
            result.notes.append(f"{name}: no probes in view(s) {', '.join(skipped)}")
        condition.per_view = {
            metric: {v: x for v, x in values.items() if not np.isnan(x)}
            for metric, values in condition.per_view.items()
        }
        result.conditions[name] = condition
    if remove:
        result.notes.append("probes whose subject has no gallery sequence were left out")
    return result


def _pair_matrix(
    protocol: Protocol,
    view_relevant: np.ndarray,
    view_closer: np.ndarray,
    in_condition: np.ndarray,
    probe_view: np.ndarray,
    num_views: int,
    rank: int,
    remove: bool,
) -> np.ndarray:
    """Rank-k (%) of each probe view against each gallery view, NaN where undefined."""
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
    if protocol.round_to_hundredths:
        matrix = np.round(matrix, 2)
    matrix[totals == 0] = np.nan
    return matrix


def _off_diagonal_mean(matrix: np.ndarray, exclude: bool) -> np.ndarray:
    """Per probe view: the mean over gallery views, identical view left out (OpenGait's de_diag)."""
    values = matrix.copy()
    if exclude:
        np.fill_diagonal(values, np.nan)
    with np.errstate(invalid="ignore"), _quiet_nanmean():
        return np.nanmean(values, axis=1)


class _quiet_nanmean:
    """Silence numpy's 'mean of empty slice' warning: empty rows are NaN on purpose."""

    def __enter__(self):
        import warnings

        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._catcher.__exit__(*exc)


def _mean(values: np.ndarray) -> float:
    with _quiet_nanmean():
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _single_view_condition(protocol, counts, in_condition, probe_view, view_list, remove):
    relevant, closer = counts.view_relevant.numpy(), counts.view_closer.numpy()
    num_views = len(view_list)
    means, per_view, pair = {}, {}, None
    for rank in protocol.ranks:
        matrix = _pair_matrix(
            protocol, relevant, closer, in_condition, probe_view, num_views, rank, remove
        )
        by_view = _off_diagonal_mean(matrix, protocol.exclude_identical_view)
        means[f"rank{rank}"] = _mean(by_view)
        per_view[f"rank{rank}"] = dict(zip(view_list, by_view.tolist(), strict=True))
        if rank == 1:
            pair = matrix
    return ViewCondition(means, per_view, _nan_to_none(pair))


def _ranking_metrics(counts: RankCounts) -> dict[str, np.ndarray]:
    """Per probe: first-match position, average precision and inverse negative penalty."""
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


def _cross_view_condition(protocol, counts, in_condition, probe_view, view_list, remove):
    metrics = _ranking_metrics(counts)
    num_views = len(view_list)
    rank1 = np.full(num_views, np.nan)
    mean_ap = np.full(num_views, np.nan)
    for v in range(num_views):
        selected = in_condition & (probe_view == v)
        if not selected.any():
            continue
        counted = selected & metrics["has"] if remove else selected
        rank1[v] = _percent(metrics["first"][counted] <= 1, int(counted.sum()), protocol.round_to_hundredths)  # fmt: skip
        matched = selected & metrics["has"]
        if matched.any():
            value = float(metrics["ap"][matched].mean()) * 100
            mean_ap[v] = float(np.round(value, 2)) if protocol.round_to_hundredths else value
    pair = _pair_matrix(
        protocol,
        counts.view_relevant.numpy(),
        counts.view_closer.numpy(),
        in_condition,
        probe_view,
        num_views,
        1,
        remove,
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


def _nan_to_none(matrix: np.ndarray) -> list[list[float | None]]:
    return [[None if np.isnan(x) else float(x) for x in row] for row in matrix]


def _evaluate_real_scene(
    context: _Context, remove: bool, probe_set: Sequence[str] | None
) -> EvaluationResult:
    protocol = context.protocol
    if protocol.probe_set:
        if not probe_set:
            raise ConfigError(
                f"{protocol.name} protocol: probes are named in the partition's PROBE_SET; "
                "pass probe_set (CLI: --probe-set PARTITION.json)"
            )
        names = np.char.add(
            np.char.add(np.char.add(context.label_text, "-"), context.types),
            np.char.add("-", context.views),
        )
        probe_masks = {"overall": np.isin(names, list(probe_set))}
        gallery_mask = ~probe_masks["overall"]
    else:
        probe_masks = {name: context.match(t) for name, t in protocol.conditions.items()}
        gallery_mask = context.match(protocol.gallery_types)
    if not gallery_mask.any():
        raise DataError(
            f"{protocol.name} protocol: no gallery sequences "
            f"(types {_describe(protocol.gallery_types) or 'not in the probe set'})"
        )
    result = EvaluationResult(protocol=protocol.name, metric=context.metric, kind=REAL_SCENE)
    view_codes = np.zeros(len(context.types), dtype=np.int64)
    for name, mask in probe_masks.items():
        if not mask.any():
            raise DataError(
                f"{protocol.name} protocol: no probe sequences for {name!r} "
                f"(types {_describe(protocol.conditions.get(name, ())) or 'from the probe set'})"
            )
        probe_rows, gallery_rows = np.flatnonzero(mask), np.flatnonzero(gallery_mask)
        counts = context.counts(
            probe_rows, gallery_rows, view_codes, 1,
            exclude_same_view=False, full=True, per_view=False,
        )  # fmt: skip
        metrics = _ranking_metrics(counts)
        has = metrics["has"]
        if not has.any():
            raise DataError(
                f"{protocol.name} protocol: no probe's subject appears in the gallery; "
                "check the probe and gallery types"
            )
        counted = has if remove else np.ones_like(has)
        values = {
            f"rank{k}": _percent(metrics["first"][counted] <= k, int(counted.sum()), protocol.round_to_hundredths)  # fmt: skip
            for k in (1, 5, 10)
        }
        values["mAP"] = float(metrics["ap"][has].mean()) * 100
        values["mINP"] = float(metrics["inp"][has].mean()) * 100
        result.conditions[name] = values
        if remove and not has.all():
            result.notes.append(f"{name}: {int((~has).sum())} probe(s) without gallery left out")
    return result
