"""``evaluate_CCPG``: OpenGait's four CCPG conditions, through the blocked evaluator.

Each condition has its own probe and gallery types (OpenGait's ``probe_seq_dict`` /
``gallery_seq_dict``)::

    CL  probes U0_D0_BG, U0_D0   gallery U1_D1, U2_D2, U3_D3   (clothes change)
    UP  probes U3_D3             gallery U0_D3                 (upper clothes)
    DN  probes U1_D0             gallery U1_D1                 (lower clothes)
    BG  probes U0_D0_BG          gallery U0_D0                 (bag)

A view ``<camera>_<k>`` is read as its camera (``04_1`` -> ``04``). Per condition, OpenGait
computes, and this module computes the same from :func:`~.ranking.count_ranks`:

- rank-1, mAP and mINP as person re-identification (its ``evaluate_many``): the gallery
  sequences of the probe's own subject *and* camera are removed from its ranking, and
  probes with no match left are left out of the averages (logged, not returned);
- rank-1 of each probe camera against each gallery camera, identical cameras included,
  rounded to 2 decimals: the ``[cameras, cameras]`` matrix returned under
  ``scalar/test_accuracy/CL`` (``UP``, ``DN``, ``BG``).
"""

from __future__ import annotations

import numpy as np
import torch
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.evaluation.checks import check_data
from gaitgen.runtime.evaluation.distance import FeatureDistances, choose_device
from gaitgen.runtime.evaluation.functions import EvalFunction
from gaitgen.runtime.evaluation.inputs import EvalData, EvalSettings
from gaitgen.runtime.evaluation.metrics import pair_matrix, ranking_metrics, real_scene_values
from gaitgen.runtime.evaluation.ranking import count_ranks
from gaitgen.runtime.evaluation.result import EvaluationResult, ViewCondition

# condition -> (probe types, gallery types), in OpenGait's order
CONDITIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "CL": (("U0_D0_BG", "U0_D0"), ("U1_D1", "U2_D2", "U3_D3")),
    "UP": (("U3_D3",), ("U0_D3",)),
    "DN": (("U1_D0",), ("U1_D1",)),
    "BG": (("U0_D0_BG",), ("U0_D0",)),
}
_KEY = "scalar/test_accuracy/"
_REID = ("rank1", "mAP", "mINP")


def camera_views(views: np.ndarray) -> np.ndarray:
    """``<camera>_<k>`` -> ``<camera>`` (a view without ``_`` stays as it is), as a new array."""
    return np.asarray([view.split("_")[0] for view in views.tolist()], dtype=str)


def run_ccpg(
    data: EvalData, dataset: str | None, settings: EvalSettings, function: EvalFunction
) -> EvaluationResult:
    """Evaluate CCPG's four conditions.

    Unlike OpenGait's ``evaluate_CCPG``, which rewrites ``data['views']`` in place (the
    caller's list then holds cameras), the caller's arrays are left as they were.

    Raises:
        DataError: a condition without probe or gallery sequences, or whose probes' subjects
            have no gallery sequence left once their own camera is removed.
    """
    features, labels, types, views = check_data(data, settings.metric)
    cameras = camera_views(views)
    camera_list = sorted(set(cameras.tolist()))
    camera_codes = np.searchsorted(np.asarray(camera_list, dtype=str), cameras).astype(np.int64)
    label_codes = np.unique(labels, return_inverse=True)[1].astype(np.int64)
    distances = FeatureDistances(features, settings.metric, choose_device(features, settings.device))
    result = EvaluationResult(
        protocol="CCPG", metric=settings.metric, kind="view", views=camera_list,
        exclude_identical_view=False,
    )  # fmt: skip
    opengait, without_identical = {}, []
    for name, (probe_types, gallery_types) in CONDITIONS.items():
        probe_rows = _rows(types, probe_types, name, "probe")
        gallery_rows = _rows(types, gallery_types, name, "gallery")

        def counts(exclude: bool, probe_rows=probe_rows, gallery_rows=gallery_rows):
            return count_ranks(
                distances,
                torch.from_numpy(probe_rows),
                torch.from_numpy(label_codes[probe_rows]),
                torch.from_numpy(camera_codes[probe_rows]),
                torch.from_numpy(gallery_rows),
                torch.from_numpy(label_codes[gallery_rows]),
                torch.from_numpy(camera_codes[gallery_rows]),
                len(camera_list),
                exclude_same_view=exclude,
                full=exclude,
                per_view=not exclude,
            )

        metrics = ranking_metrics(counts(True))
        if not metrics["has"].any():
            raise DataError(
                f"evaluate_CCPG: condition {name}: no probe's subject (types "
                f"{', '.join(probe_types)}) has a gallery sequence (types "
                f"{', '.join(gallery_types)}) once its own camera is left out"
            )
        pairs = counts(False)
        probe_camera = camera_codes[probe_rows]
        matrix = pair_matrix(
            pairs.view_relevant.numpy(), pairs.view_closer.numpy(),
            np.ones(len(probe_rows), bool), probe_camera, len(camera_list), 1, False, True,
        )  # fmt: skip
        opengait[f"{_KEY}{name}"] = matrix
        overall = real_scene_values(metrics, remove=True, round_it=False)
        result.conditions[name] = ViewCondition(
            {metric: overall[metric] for metric in _REID},
            _per_camera(metrics, probe_camera, camera_list),
            [[None if np.isnan(x) else float(x) for x in row] for row in matrix],
        )
        without_identical.append(f"{name} {_off_diagonal(matrix):.2f}")
        empty = [camera_list[v] for v in sorted(set(range(len(camera_list))) - set(camera_codes[gallery_rows].tolist()))]  # fmt: skip
        if empty:
            result.notes.append(f"{name}: no gallery sequences of camera(s) {', '.join(empty)}")
    result.notes += [
        "rank1, mAP, mINP: OpenGait's re-identification figures (its evaluate_many): a "
        "probe's own subject's gallery sequences of its camera are left out, and so are "
        "probes with no match left; 'mean' is over all those probes",
        "per_pair: rank-1 of each probe camera against each gallery camera, identical "
        "cameras included (the matrices OpenGait's evaluate_CCPG returns)",
        "rank-1 of those matrices without identical cameras: " + ", ".join(without_identical),
    ]
    result.opengait = opengait
    return result


def _rows(types: np.ndarray, wanted: tuple[str, ...], condition: str, role: str) -> np.ndarray:
    rows = np.flatnonzero(np.isin(types, wanted))
    if len(rows) == 0:
        found = ", ".join(sorted(set(types.tolist()))[:8])
        raise DataError(
            f"evaluate_CCPG: condition {condition}: no {role} sequences of type(s) "
            f"{', '.join(wanted)} (types found: {found}); CCPG's types are U<up>_D<down>[_BG]"
        )
    return rows


def _per_camera(
    metrics: dict[str, np.ndarray], probe_camera: np.ndarray, camera_list: list[str]
) -> dict[str, dict[str, float]]:
    """Rank-1, mAP, mINP (%) of the probes of each camera that have a match."""
    has = metrics["has"]
    out: dict[str, dict[str, float]] = {metric: {} for metric in _REID}
    for code, camera in enumerate(camera_list):
        selected = has & (probe_camera == code)
        if not selected.any():
            continue
        out["rank1"][camera] = float((metrics["first"][selected] <= 1).mean()) * 100
        out["mAP"][camera] = float(metrics["ap"][selected].mean()) * 100
        out["mINP"][camera] = float(metrics["inp"][selected].mean()) * 100
    return out


def _off_diagonal(matrix: np.ndarray) -> float:
    """OpenGait's ``de_diag``: the mean over probe cameras of the off-diagonal row means."""
    size = matrix.shape[1]
    if size < 2:
        return float("nan")
    return float(np.mean((matrix.sum(1) - np.diag(matrix)) / (size - 1)))
