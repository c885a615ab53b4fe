"""GREW's test protocol: the submission file its server scores, and the same ranking scored
locally on a split whose probes carry their true ids.

GREW's test set (OpenGait's layout): gallery sequences of types ``01`` and ``02`` (two per
subject), probe sequences of type ``03`` whose identities are withheld; a probe's view is its
video id. The server takes, per probe, the ids of the 20 nearest gallery *sequences* (an id
repeats when both of its sequences rank high) and counts rank-k as the probe's true id being
among the first k of those 20.

- ``GREW_submission`` (OpenGait's): writes that CSV (``videoId,rank1..rank20``, ids as
  integers) under ``GREW_result/<time>.csv`` and returns no figure: its accuracy is the
  server's to compute.
- ``GREW_ranks`` (gaitgen's own): the same ranking, with rank-1/5/10/20 counted as the
  server counts them (a probe whose subject has no gallery sequence is a miss), plus mAP and
  mINP, for a GREW-style split of your own where the ``03`` probes' labels are their true
  ids. This is not ``evaluate_real_scene`` on GREW, which ranks the ``02`` sequences
  against the ``01`` gallery alone.
"""

from __future__ import annotations

import numpy as np
import torch
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.evaluation.checks import check_data
from gaitgen.runtime.evaluation.distance import FeatureDistances, choose_device
from gaitgen.runtime.evaluation.functions import EvalFunction
from gaitgen.runtime.evaluation.inputs import EvalData, EvalSettings
from gaitgen.runtime.evaluation.metrics import ranking_metrics, real_scene_values
from gaitgen.runtime.evaluation.ranking import count_ranks
from gaitgen.runtime.evaluation.result import EvaluationResult
from gaitgen.runtime.evaluation.search import top_matches
from gaitgen.runtime.evaluation.submission import write_submission

GALLERY_TYPES = ("01", "02")
PROBE_TYPES = ("03",)
NUM_RANKS = 20
HEADER = ("videoId", *(f"rank{k}" for k in range(1, NUM_RANKS + 1)))


def _split(types: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Probe (type 03) and gallery (types 01, 02) rows."""
    probe_rows = np.flatnonzero(np.isin(types, PROBE_TYPES))
    gallery_rows = np.flatnonzero(np.isin(types, GALLERY_TYPES))
    found = ", ".join(sorted(set(types.tolist()))[:8])
    for rows, role, wanted in ((probe_rows, "probe", PROBE_TYPES), (gallery_rows, "gallery", GALLERY_TYPES)):  # fmt: skip
        if len(rows) == 0:
            raise DataError(
                f"{name}: no {role} sequences of type {' or '.join(wanted)} among the "
                f"{len(types)} sequences (types found: {found}); GREW's probes are type 03, "
                "its gallery types 01 and 02"
            )
    return probe_rows, gallery_rows


def _subject_numbers(labels: np.ndarray, name: str) -> np.ndarray:
    """The gallery labels as integers, as the server takes them (``00213`` -> ``213``)."""
    unique, inverse = np.unique(labels, return_inverse=True)
    numbers = []
    for label in unique.tolist():
        try:
            numbers.append(int(label))
        except ValueError:
            raise DataError(
                f"{name}: gallery label {label!r} is not a number; GREW's server takes "
                "subject ids as integers"
            ) from None
    return np.asarray(numbers, dtype=np.int64)[inverse]


def run_grew_submission(
    data: EvalData, dataset: str | None, settings: EvalSettings, function: EvalFunction
) -> EvaluationResult:
    """Write GREW's submission CSV: per ``03`` probe (its video id, the view), the ids of its
    20 nearest ``01``/``02`` gallery sequences, nearest first.

    Raises:
        DataError: no probes or gallery, fewer than 20 gallery sequences, or a gallery label
            that is not an integer.
    """
    features, labels, types, views = check_data(data, settings.metric)
    probe_rows, gallery_rows = _split(types, function.name)
    if len(gallery_rows) < NUM_RANKS:
        raise DataError(
            f"{function.name}: {len(gallery_rows)} gallery sequences (types 01, 02); the "
            f"submission lists the {NUM_RANKS} nearest for each probe, so it needs at least "
            f"{NUM_RANKS}"
        )
    numbers = _subject_numbers(labels[gallery_rows], function.name)
    _, nearest = top_matches(
        features[torch.from_numpy(gallery_rows)],
        features[torch.from_numpy(probe_rows)],
        NUM_RANKS,
        settings.metric,
        settings.device,
    )
    ranked = numbers[nearest.numpy()]  # [P, 20]
    rows = ([video, *ids] for video, ids in zip(views[probe_rows].tolist(), ranked.tolist(), strict=True))  # fmt: skip
    path = write_submission(function.writes, HEADER, rows, settings.out_dir)
    return EvaluationResult(
        protocol="GREW submission",
        metric=settings.metric,
        kind="submission",
        files=[path],
        notes=[
            f"GREW result saved to {path} ({len(probe_rows)} probes x {NUM_RANKS} gallery ids, "
            f"{len(gallery_rows)} gallery sequences): upload it to GREW's server for the "
            "accuracy (on a split with known probe ids: --protocol GREW_ranks)"
        ],
    )


def run_grew_ranks(
    data: EvalData, dataset: str | None, settings: EvalSettings, function: EvalFunction
) -> EvaluationResult:
    """Rank-1/5/10/20, mAP and mINP (%) of the ``03`` probes against the ``01``/``02``
    gallery, counted as GREW's server counts a submission: rank-k is the share of probes
    whose true id is among the ids of their k nearest gallery sequences (all probes count,
    unless ``remove_no_gallery``); mAP and mINP over probes with a match.

    Raises:
        DataError: no probes or gallery, or no probe whose subject is in the gallery (the
            probes' labels are not their ids, as in GREW's own test set).
    """
    features, labels, types, _ = check_data(data, settings.metric)
    probe_rows, gallery_rows = _split(types, function.name)
    codes = np.unique(labels, return_inverse=True)[1].astype(np.int64)
    no_view = torch.zeros(len(codes), dtype=torch.int64)
    counts = count_ranks(
        FeatureDistances(features, settings.metric, choose_device(features, settings.device)),
        torch.from_numpy(probe_rows), torch.from_numpy(codes[probe_rows]), no_view[probe_rows],
        torch.from_numpy(gallery_rows), torch.from_numpy(codes[gallery_rows]),
        no_view[gallery_rows], 1, exclude_same_view=False, full=True, per_view=False,
    )  # fmt: skip
    metrics = ranking_metrics(counts)
    has = metrics["has"]
    if not has.any():
        raise DataError(
            f"{function.name}: no 03 probe's label is a gallery subject; it needs probes "
            "labelled with their true ids (GREW's own test probes are not: submit "
            "GREW_submission's file to its server instead)"
        )
    values = real_scene_values(
        metrics, settings.remove_no_gallery, round_it=False, ranks=(1, 5, 10, NUM_RANKS)
    )
    result = EvaluationResult(
        protocol="GREW (03 probes vs 01+02 gallery)", metric=settings.metric, kind="real_scene"
    )
    result.conditions["overall"] = values
    if not has.all():
        left = "left out" if settings.remove_no_gallery else "counted as misses"
        result.notes.append(f"{int((~has).sum())} probe(s) whose subject has no gallery, {left}")
    return result
