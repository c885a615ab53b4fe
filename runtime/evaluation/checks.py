"""Input checks of :func:`~gaitgen.runtime.evaluation.evaluate`: the embeddings, the
per-sequence strings and the options, each failing with one error that names the argument
(or config key) and what to do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from gaitgen.runtime.errors import ConfigError, DataError, did_you_mean
from gaitgen.runtime.evaluation.distance import METRICS
from gaitgen.runtime.evaluation.inputs import EvalData
from gaitgen.runtime.evaluation.protocols import VIEW, Protocol

RERANK_DEFAULTS = {"k1": 20, "k2": 6, "lambda_value": 0.3}


def check_options(protocol: Protocol, metric: str, cross_view: bool) -> None:
    """The metric is known and the cross-view gallery fits the protocol.

    Raises:
        ConfigError: naming the option and the values that fit.
    """
    check_metric(metric)
    if cross_view and protocol.kind != VIEW:
        raise ConfigError(
            f"cross_view_gallery: the {protocol.name} protocol has one gallery (real-scene); "
            "set cross_view_gallery to false"
        )


def check_metric(metric: str) -> None:
    """The metric is one of :data:`~.distance.METRICS`.

    Raises:
        ConfigError: naming the values that fit.
    """
    if metric not in METRICS:
        raise ConfigError(f"metric: unknown metric {metric!r}; use one of {', '.join(METRICS)}")


def check_data(
    data: EvalData, metric: str
) -> tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray]:
    """The embeddings and their ``label``, ``type``, ``view`` strings, checked (new arrays:
    the caller's are never changed), for a function that is not a protocol preset.

    Raises:
        ConfigError: an unknown metric.
        DataError: as :func:`check_feature` and :func:`check_strings`.
    """
    check_metric(metric)
    features = check_feature(data.feature)
    labels, types, views = (
        check_strings(values, name, len(features))
        for values, name in ((data.label, "label"), (data.type, "type"), (data.view, "view"))
    )
    return features, labels, types, views


def check_feature(feature: Any) -> torch.Tensor:
    """``[N, c, p]`` floating-point embeddings as a tensor (``[N, c]`` read as one part).

    Raises:
        DataError: not floating point, another shape, or no embeddings.
    """
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


def check_strings(values: Sequence[str], name: str, expected: int) -> np.ndarray:
    """One string per sequence (``label``, ``type`` or ``view``), ``expected`` of them.

    Raises:
        DataError: not one-dimensional, or another length than the embeddings.
    """
    array = np.asarray(values).astype(str)
    if array.ndim != 1:
        raise DataError(f"{name}: expected one string per sequence, got shape {array.shape}")
    if len(array) != expected:
        raise DataError(f"{name}: {len(array)} entries for {expected} embeddings; they must match")
    return array


def rerank_params(rerank: bool | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Re-ranking settings (``k1``, ``k2``, ``lambda_value``) or ``None`` for no re-ranking.

    Raises:
        ConfigError: not a bool or a mapping, or an unknown key in the mapping.
    """
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
