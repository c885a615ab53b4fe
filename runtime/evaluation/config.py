"""The evaluation settings of an OpenGait-schema config, and the probe-set files they name.

:func:`evaluate_from_config` translates ``data_cfg`` and ``evaluator_cfg`` into the
arguments of :func:`~gaitgen.runtime.evaluation.evaluate`; :func:`load_probe_set` reads the
probe names of a Gait3D-style partition (also used by ``gaitgen evaluate --probe-set``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from gaitgen.runtime.config.schema import test_data_cfg
from gaitgen.runtime.errors import ConfigError
from gaitgen.runtime.evaluation.checks import check_options, rerank_params
from gaitgen.runtime.evaluation.evaluator import evaluate
from gaitgen.runtime.evaluation.protocols import (
    EVAL_FUNCS,
    PROTOCOLS,
    UNSUPPORTED_EVAL_FUNCS,
    VIEW,
    Protocol,
    resolve_protocol,
)
from gaitgen.runtime.evaluation.result import EvaluationResult


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
    data_cfg = test_data_cfg(cfgs)
    evaluator_cfg = cfgs.get("evaluator_cfg") or {}
    chosen, probe_set = evaluation_settings(cfgs)
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


def evaluation_settings(cfgs: Mapping[str, Any]) -> tuple[Protocol, list[str] | None]:
    """The protocol (and Gait3D-style probe set) a config's test phase evaluates with, and its
    metric, cross-view and re-rank settings checked: what ``gaitgen check`` and the start of
    ``gaitgen test`` verify before any sequence is embedded.

    Raises:
        ConfigError: a setting that :func:`evaluate_from_config` would refuse.
    """
    data_cfg = test_data_cfg(cfgs)
    evaluator_cfg = cfgs.get("evaluator_cfg") or {}
    chosen = _protocol_of(data_cfg, evaluator_cfg)
    check_options(
        chosen,
        str(evaluator_cfg.get("metric", "euc")),
        bool(evaluator_cfg.get("cross_view_gallery", False)),
    )
    rerank_params(evaluator_cfg.get("rerank", False) or False)
    probe_set = None
    if chosen.probe_set:
        probe_set = _read_probe_set(evaluator_cfg.get("probe_set"), data_cfg)
    return chosen, probe_set


def _protocol_of(data_cfg: Mapping[str, Any], evaluator_cfg: Mapping[str, Any]) -> Protocol:
    """The protocol the config asks for: ``evaluator_cfg.protocol``, else the dataset's preset,
    checked against ``evaluator_cfg.eval_func``."""
    dataset_name = data_cfg.get("test_dataset_name") or data_cfg.get("dataset_name")
    eval_func = evaluator_cfg.get("eval_func") or "identification"
    if eval_func in UNSUPPORTED_EVAL_FUNCS:
        raise ConfigError(
            f"evaluator_cfg.eval_func: {eval_func!r} is not supported by gaitgen's evaluator; "
            f"use one of {', '.join(EVAL_FUNCS)}"
        )
    from ..components import get

    expected = get("evaluation", eval_func)  # the kind of protocol it evaluates (None: any)
    custom = evaluator_cfg.get("protocol")
    if custom is not None:
        return resolve_protocol(custom, None, "evaluator_cfg.protocol")
    if eval_func == "evaluate_Gait3D":
        return PROTOCOLS["Gait3D"]
    if dataset_name is None:
        raise ConfigError(
            "data_cfg.test_dataset_name: missing (and no data_cfg.dataset_name); "
            "it selects the evaluation protocol"
        )
    chosen = resolve_protocol(None, dataset_name, "data_cfg.test_dataset_name")
    if expected is not None and chosen.kind != expected:
        fitting = "evaluate_indoor_dataset" if chosen.kind == VIEW else "evaluate_real_scene"
        raise ConfigError(
            f"evaluator_cfg.eval_func: {eval_func!r} does not fit dataset {dataset_name!r} "
            f"(a {chosen.kind.replace('_', '-')} protocol); use {fitting!r}"
        )
    return chosen


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
    """Read probe names (``label-type-view``) from a JSON list or a partition's ``PROBE_SET``.

    Raises:
        ConfigError: the file cannot be read or holds no list of names; names ``where``.
    """
    try:
        content = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read {path} ({exc})") from None
    if isinstance(content, dict):
        content = content.get("PROBE_SET")
    if not isinstance(content, list) or not content:
        raise ConfigError(f"{where}: {path} holds no PROBE_SET list of probe names")
    return [str(name) for name in content]
