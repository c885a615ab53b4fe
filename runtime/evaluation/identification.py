"""The identification functions (``evaluate_indoor_dataset``, ``evaluate_real_scene``,
``evaluate_Gait3D``, ``evaluate_FreeGait``, ``evaluate_CCGR_MINI`` and gaitgen's
``identification``): a protocol preset run by :func:`~.evaluator.evaluate`, and the dict
OpenGait's function of that name returns, read off the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gaitgen.runtime.errors import ConfigError
from gaitgen.runtime.evaluation.evaluator import evaluate
from gaitgen.runtime.evaluation.functions import EvalFunction
from gaitgen.runtime.evaluation.inputs import EvalData, EvalSettings
from gaitgen.runtime.evaluation.protocols import (
    PROTOCOLS,
    REAL_SCENE,
    VIEW,
    Protocol,
    resolve_protocol,
)
from gaitgen.runtime.evaluation.result import EvaluationResult, ViewCondition

# gaitgen's condition names that OpenGait spells otherwise in its result keys
_OPENGAIT_CONDITION_NAMES = {"Umbrella": "Umberalla"}
_KEY = "scalar/test_accuracy/"


def run_identification(
    data: EvalData, dataset: str | None, settings: EvalSettings, function: EvalFunction
) -> EvaluationResult:
    """Evaluate ``data`` under the preset the function and dataset choose."""
    protocol = protocol_for(function, dataset, settings)
    probes = _probe_names(function, protocol, data, settings)
    result = evaluate(
        data.feature,
        data.label,
        data.type,
        data.view,
        protocol=protocol,
        metric=settings.metric,
        cross_view=settings.cross_view,
        rerank=settings.rerank,
        device=settings.device,
        remove_no_gallery=settings.remove_no_gallery,
        probe_set=probes,
    )
    result.opengait = opengait_dict(result, protocol, settings.cross_view)
    return result


def protocol_for(function: EvalFunction, dataset: str | None, settings: EvalSettings) -> Protocol:
    """The preset: the function's own, else the explicit one, else the dataset's; its kind
    must be the one the function evaluates."""
    if function.preset is not None:
        return PROTOCOLS[function.preset]
    if settings.protocol is not None:
        chosen = resolve_protocol(settings.protocol, None, "evaluator_cfg.protocol")
    elif dataset is None:
        raise ConfigError(
            f"{function.name}: no dataset name to choose the protocol from; set "
            "data_cfg.test_dataset_name (gaitgen evaluate: --dataset or --protocol PRESET)"
        )
    else:
        chosen = resolve_protocol(
            None, dataset, dataset_where="data_cfg.test_dataset_name (gaitgen evaluate: --dataset)"
        )
    if function.protocol_kind not in ("any", chosen.kind):
        fitting = "evaluate_indoor_dataset" if chosen.kind == VIEW else "evaluate_real_scene"
        raise ConfigError(
            f"{function.name} does not evaluate dataset {chosen.name!r} (a "
            f"{chosen.kind.replace('_', '-')} protocol); use {fitting!r}"
        )
    return chosen


def _probe_names(
    function: EvalFunction, protocol: Protocol, data: EvalData, settings: EvalSettings
) -> list[str] | None:
    """The probes of a protocol that takes them from a partition: its ``PROBE_SET``, or
    (CCGR-MINI) every sequence not in its ``GALLERY_SET``."""
    if not protocol.probe_set:
        return None
    key = function.partition_key or "PROBE_SET"
    names = (settings.partition or {}).get(key)
    if names is None:
        raise ConfigError(
            f"{function.name}: the {protocol.name} protocol reads the partition's {key}; "
            "set data_cfg.dataset_partition (gaitgen evaluate: --probe-set PARTITION.json)"
        )
    if key == "PROBE_SET":
        return names
    every = _names(data.label, data.type, data.view)
    return every[~np.isin(every, names)].tolist()


def _names(label: Sequence[str], type_: Sequence[str], view: Sequence[str]) -> np.ndarray:
    """``label-type-view`` of every sequence, as partitions name them."""
    return np.char.add(
        np.char.add(np.char.add(np.asarray(label, str), "-"), np.asarray(type_, str)),
        np.char.add("-", np.asarray(view, str)),
    )


def opengait_dict(
    result: EvaluationResult, protocol: Protocol, cross_view: bool
) -> dict[str, Any] | None:
    """The dict OpenGait's function returns for this result (``None`` for a custom
    protocol, which no OpenGait function evaluates)."""
    if protocol.name not in PROTOCOLS:
        return None
    out: dict[str, Any] = {}
    for name, condition in result.conditions.items():
        shown = _OPENGAIT_CONDITION_NAMES.get(name, name)
        if protocol.kind == VIEW and isinstance(condition, ViewCondition):
            if cross_view:
                out[f"{_KEY}{shown}-Rank@1"] = condition.mean["rank1"]
                out[f"{_KEY}{shown}-mAP"] = condition.mean["mAP"]
            else:
                out[f"{_KEY}{shown}@R1"] = condition.mean["rank1"]
        elif protocol.kind == REAL_SCENE and protocol.probe_set:
            for rank in (1, 5, 10):
                out[f"{_KEY}Rank-{rank}"] = condition[f"rank{rank}"]
            out[f"{_KEY}mAP"] = condition["mAP"]
            out[f"{_KEY}mINP"] = condition["mINP"]
        else:
            out[f"{_KEY}Rank-1"] = condition["rank1"]
            out[f"{_KEY}Rank-5"] = condition["rank5"]
    return out
