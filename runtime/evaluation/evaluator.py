"""``evaluate``: embeddings + labels + a protocol -> an :class:`EvaluationResult`.

This module chooses probe and gallery sequences and puts the result together; the input
checks are in :mod:`.checks`, the distances in :mod:`.distance`, the per-probe ranking
counts in :mod:`.ranking`, OpenGait's numbers from them in :mod:`.metrics`, and the settings
of a config in :mod:`.config`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from gaitgen.runtime.errors import ConfigError, DataError
from gaitgen.runtime.evaluation.checks import (
    check_feature,
    check_options,
    check_strings,
    rerank_params,
)
from gaitgen.runtime.evaluation.distance import FeatureDistances, MatrixDistances, choose_device
from gaitgen.runtime.evaluation.metrics import (
    cross_view_condition,
    ranking_metrics,
    real_scene_values,
    single_view_condition,
)
from gaitgen.runtime.evaluation.protocols import REAL_SCENE, VIEW, Protocol, resolve_protocol
from gaitgen.runtime.evaluation.ranking import RankCounts, count_ranks
from gaitgen.runtime.evaluation.rerank import k_reciprocal_rerank
from gaitgen.runtime.evaluation.result import EvaluationResult


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
    check_options(chosen, metric, cross_view)
    features = check_feature(feature)
    labels, types, views = (
        check_strings(values, name, len(features))
        for values, name in ((label, "label"), (type, "type"), (view, "view"))
    )
    device = choose_device(features, device)
    label_codes = np.unique(labels, return_inverse=True)[1].astype(np.int64)
    rerank_settings = rerank_params(rerank)
    context = _Context(
        chosen, features, labels, label_codes, types, views, metric, device, rerank_settings
    )
    remove = remove_no_gallery or chosen.remove_no_gallery
    if chosen.kind == VIEW:
        result = _evaluate_views(context, cross_view, remove)
    else:
        result = _evaluate_real_scene(context, remove, probe_set)
    if rerank_settings is not None:
        result.metric += "+rerank"
    return result


class _Context:
    """What both protocol kinds need: the data, the distance source and the settings.

    ``label_text`` holds the subject ids as given, ``labels`` their int64 codes.
    """

    def __init__(
        self, protocol, features, label_text, labels, types, views, metric, device, rerank
    ):
        self.protocol = protocol
        self.features = features
        self.label_text = label_text
        self.labels = labels
        self.types = types
        self.views = views
        self.metric = metric
        self.device = device
        self.rerank = rerank

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


def _describe(types: Sequence[str]) -> str:
    return ", ".join(types) if len(types) <= 6 else f"{', '.join(types[:6])}, ..."


def _evaluate_views(context: _Context, cross_view: bool, remove: bool) -> EvaluationResult:
    """A view protocol: probes and gallery chosen per condition and view, then rank-k per
    probe view (single-view gallery) or rank-1 and mAP (cross-view gallery)."""
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
            condition = cross_view_condition(
                protocol, counts, in_condition, probe_view, view_list, remove
            )
        else:
            condition = single_view_condition(
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


def _evaluate_real_scene(
    context: _Context, remove: bool, probe_set: Sequence[str] | None
) -> EvaluationResult:
    """A real-scene protocol: one gallery, rank-1/5/10, mAP and mINP per probe condition."""
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
        metrics = ranking_metrics(counts)
        has = metrics["has"]
        if not has.any():
            raise DataError(
                f"{protocol.name} protocol: no probe's subject appears in the gallery; "
                "check the probe and gallery types"
            )
        values = real_scene_values(metrics, remove, protocol.round_to_hundredths)
        result.conditions[name] = values
        if remove and not has.all():
            result.notes.append(f"{name}: {int((~has).sum())} probe(s) without gallery left out")
    return result
