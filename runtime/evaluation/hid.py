"""``HID_submission``: the CSV the HID competition's server scores.

HID's test set (OpenGait's layout): probe sequences labelled ``probe``, each named by its
video id in the view; every other sequence is gallery. Each probe gets the label of its
nearest gallery sequence, written as ``videoID,label`` lines under
``HID_result/<time>.csv``.

Re-ranking (k-reciprocal, ``k1=6, k2=6, lambda=0.3`` as OpenGait's function fixes them; a
config's ``rerank`` mapping may set others) runs on the distances among probes and gallery
together, through :func:`~.rerank.k_reciprocal_rerank`.

OpenGait's ``HID_submission`` re-ranks unless told not to (``rerank=True`` is its default).
A config whose ``evaluator_cfg`` leaves ``rerank`` out therefore re-ranks here too (the
table entry's ``defaults``), so an OpenGait config gives OpenGait's file. ``gaitgen
evaluate`` keeps its flag's meaning instead: ``--rerank`` re-ranks and its absence does
not, for every function alike (a flag that meant "on" for one function and "off" for the
others would make every command line depend on the function named).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.evaluation.checks import check_data, rerank_params
from gaitgen.runtime.evaluation.distance import FeatureDistances, choose_device
from gaitgen.runtime.evaluation.functions import EvalFunction
from gaitgen.runtime.evaluation.inputs import EvalData, EvalSettings
from gaitgen.runtime.evaluation.rerank import k_reciprocal_rerank
from gaitgen.runtime.evaluation.result import EvaluationResult
from gaitgen.runtime.evaluation.search import top_matches
from gaitgen.runtime.evaluation.submission import write_submission

PROBE_LABEL = "probe"
HEADER = ("videoID", "label")
RERANK = {"k1": 6, "k2": 6, "lambda_value": 0.3}  # OpenGait's HID_submission


def hid_rerank_params(rerank: bool | Mapping[str, Any]) -> dict[str, Any] | None:
    """``None`` (no re-ranking), HID's parameters (``True``), or HID's with a mapping's
    keys over them.

    Raises:
        ConfigError: a mapping with an unknown key, or neither a bool nor a mapping.
    """
    if rerank_params(rerank) is None:
        return None
    if rerank is True:
        return dict(RERANK)
    return {**RERANK, **{"lambda_value" if k == "lambda" else k: v for k, v in rerank.items()}}


def run_hid_submission(
    data: EvalData, dataset: str | None, settings: EvalSettings, function: EvalFunction
) -> EvaluationResult:
    """Write HID's submission CSV: per probe (its video id), its nearest gallery label.

    Raises:
        DataError: no sequence labelled ``probe``, or no gallery sequence.
    """
    features, labels, _, views = check_data(data, settings.metric)
    params = hid_rerank_params(settings.rerank)
    is_probe = labels == PROBE_LABEL
    probe_rows, gallery_rows = np.flatnonzero(is_probe), np.flatnonzero(~is_probe)
    if len(probe_rows) == 0:
        raise DataError(
            f"{function.name}: no probe sequences (label 'probe') among the {len(labels)} "
            "sequences; HID's test probes are labelled 'probe', their video id as the view"
        )
    if len(gallery_rows) == 0:
        raise DataError(
            f"{function.name}: every sequence is labelled 'probe'; the gallery (labelled "
            "with subject ids) is missing"
        )
    probes, gallery = torch.from_numpy(probe_rows), torch.from_numpy(gallery_rows)
    if params is None:
        _, nearest = top_matches(
            features[gallery], features[probes], 1, settings.metric, settings.device
        )
        best = nearest[:, 0].numpy()
    else:
        distances = FeatureDistances(
            features, settings.metric, choose_device(features, settings.device)
        )
        every = torch.cat([probes, gallery])
        reranked = k_reciprocal_rerank(distances.matrix(every, every), len(probes), **params)
        best = torch.argmin(reranked, dim=1).cpu().numpy()
    rows = zip(views[probe_rows].tolist(), labels[gallery_rows][best].tolist(), strict=True)
    path = write_submission(function.writes, HEADER, rows, settings.out_dir)
    how = "re-ranked (k1={k1}, k2={k2}, lambda={lambda_value})".format(**params) if params else "not re-ranked"  # fmt: skip
    return EvaluationResult(
        protocol="HID submission",
        metric=settings.metric + ("+rerank" if params else ""),
        kind="submission",
        files=[path],
        notes=[
            f"HID result saved to {path} ({len(probe_rows)} probes, {len(gallery_rows)} "
            f"gallery sequences, {how}): upload it to HID's server for the accuracy"
        ],
    )
