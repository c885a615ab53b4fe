"""The evaluation settings of an OpenGait-schema config.

:func:`evaluation_settings` reads ``data_cfg`` and ``evaluator_cfg`` into the evaluation
function, dataset and :class:`~.inputs.EvalSettings` the test phase will use, checking them
before any sequence is embedded; :func:`evaluate_from_config` runs it on the embeddings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gaitgen.runtime.config.schema import test_data_cfg
from gaitgen.runtime.errors import ConfigError
from gaitgen.runtime.evaluation.checks import check_metric, check_options, rerank_params
from gaitgen.runtime.evaluation.dispatch import (
    check_dataset,
    evaluate_function,
    get_function,
)
from gaitgen.runtime.evaluation.functions import EVAL_FUNCS, EvalFunction
from gaitgen.runtime.evaluation.identification import protocol_for
from gaitgen.runtime.evaluation.inputs import EvalData, EvalSettings, load_partition
from gaitgen.runtime.evaluation.protocols import Protocol
from gaitgen.runtime.evaluation.result import EvaluationResult

log = logging.getLogger(__name__)

# evaluator_cfg keys that are settings of an evaluation function -> the setting
_SETTING_KEYS = {
    "metric": "metric",
    "cross_view_gallery": "cross_view",
    "rerank": "rerank",
    "probe_set": "probe_set",
}
_DEFAULTS = {"metric": "euc", "cross_view": False, "rerank": False, "probe_set": None}


@dataclass
class ConfigEvaluation:
    """What a config's test phase evaluates with.

    Attributes:
        function: the evaluation function (``evaluator_cfg.eval_func``).
        dataset: ``data_cfg.test_dataset_name`` (else ``dataset_name``).
        settings: its settings.
        protocol: the protocol preset of an identification function (``None`` for others).
    """

    function: EvalFunction
    dataset: str | None
    settings: EvalSettings
    protocol: Protocol | None = None


def evaluation_settings(cfgs: Mapping[str, Any]) -> ConfigEvaluation:
    """The evaluation a config's test phase runs, checked: what ``gaitgen check`` and the
    start of ``gaitgen test`` verify before any sequence is embedded.

    Reads ``evaluator_cfg.eval_func`` (OpenGait's function names; default
    ``identification``), ``metric``, ``cross_view_gallery``, and gaitgen's ``protocol``
    (a preset name, a custom-protocol mapping, or an evaluation function's name, which is then
    the ``eval_func``), ``rerank`` (bool or ``{k1, k2,
    lambda_value}``) and ``probe_set`` (a partition file overriding the dataset's), and
    ``data_cfg.test_dataset_name``, ``remove_no_gallery`` and ``dataset_partition``. As in
    OpenGait, a setting the function does not take is not passed to it (with a warning
    when it is set to something other than its default).

    Raises:
        ConfigError: a setting the evaluation would refuse, naming its key.
    """
    data_cfg = test_data_cfg(cfgs)
    evaluator_cfg = cfgs.get("evaluator_cfg") or {}
    custom = evaluator_cfg.get("protocol")
    eval_func = evaluator_cfg.get("eval_func")
    if isinstance(custom, str) and custom in EVAL_FUNCS:  # a function, wherever a protocol is
        if eval_func and eval_func != custom:
            raise ConfigError(
                f"evaluator_cfg.protocol: names the evaluation function {custom!r}, but "
                f"evaluator_cfg.eval_func is {eval_func!r}; keep one of them"
            )
        eval_func, custom = custom, None
    function = get_function(eval_func or "identification")
    dataset = data_cfg.get("test_dataset_name") or data_cfg.get("dataset_name")
    values = dict(function.defaults)  # OpenGait's own defaults where they differ from ours
    for key, setting in _SETTING_KEYS.items():
        if evaluator_cfg.get(key) is None:
            continue
        if setting in function.options:
            values[setting] = evaluator_cfg[key]
        elif evaluator_cfg[key] != _DEFAULTS[setting]:
            log.warning(
                "evaluator_cfg.%s: %s takes no such setting; it is not used (as in OpenGait)",
                key,
                function.name,
            )
    if custom is not None and (function.protocol_kind is None or function.preset is not None):
        raise ConfigError(
            f"evaluator_cfg.protocol: {function.name} has its own protocol; a custom "
            "protocol goes with an identification function (eval_func: identification)"
        )
    settings = EvalSettings(
        metric=str(values.get("metric", "euc")),
        cross_view=bool(values.get("cross_view", False)),
        rerank=values.get("rerank", False) or False,
        remove_no_gallery=bool(data_cfg.get("remove_no_gallery", False)),
        protocol=custom,
    )
    check_metric(settings.metric, "evaluator_cfg.metric")
    rerank_params(settings.rerank)
    check_dataset(function, dataset, "evaluator_cfg.eval_func")
    protocol = None
    if function.protocol_kind is not None:
        protocol = protocol_for(function, dataset, settings)
        check_options(protocol, settings.metric, settings.cross_view)
    if function.partition_key is not None or (protocol is not None and protocol.probe_set):
        wanted = function.partition_key or "PROBE_SET"
        settings.partition = _read_partition(values.get("probe_set"), data_cfg, wanted)
    return ConfigEvaluation(function, dataset, settings, protocol)


def _read_partition(
    explicit: str | None, data_cfg: Mapping[str, Any], wanted: str
) -> dict[str, list[str]]:
    source = explicit or data_cfg.get("dataset_partition")
    key = "evaluator_cfg.probe_set" if explicit else "data_cfg.dataset_partition"
    if not source:
        raise ConfigError(
            f"{key}: this evaluation reads the partition's {wanted}; "
            "set data_cfg.dataset_partition (or evaluator_cfg.probe_set)"
        )
    return load_partition(source, key)


def evaluate_from_config(
    cfgs: Mapping[str, Any],
    feature,
    label: Sequence[str],
    type: Sequence[str],  # noqa: A002
    view: Sequence[str],
    device: str | torch.device | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
    out_dir: str | Path | None = None,
) -> EvaluationResult:
    """Evaluate a test set's outputs with the settings of a resolved OpenGait-schema config.

    Args:
        cfgs: the config.
        feature: ``[N, c, p]`` embeddings (or a classifier's logits); ``None`` for a
            function that reads other arrays only (segmentation).
        label, type, view: ``N`` strings each.
        device: where to compute.
        arrays: other outputs a function reads (segmentation's ``pred``, ``mask``).
        out_dir: where a submission file goes (the run folder).

    Raises:
        ConfigError: a setting that cannot be used; the message names the key.
    """
    chosen = evaluation_settings(cfgs)
    data = EvalData(
        feature,
        np.asarray([str(v) for v in label], dtype=str),
        np.asarray([str(v) for v in type], dtype=str),
        np.asarray([str(v) for v in view], dtype=str),
        dict(arrays or {}),
    )
    settings = replace(
        chosen.settings, device=device, out_dir=Path(out_dir) if out_dir is not None else None
    )
    return evaluate_function(chosen.function, data, chosen.dataset, settings)
