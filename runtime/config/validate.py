"""Checking a config's keys and a component's parameters, with hints for the fix."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, did_you_mean

SAMPLER_KEYS = {
    "type",
    "batch_size",
    "batch_shuffle",
    "sample_type",
    "frames_num_fixed",
    "frames_num_max",
    "frames_num_min",
    "frames_skip_num",
    "frames_all_limit",
}

REQUIRED_SECTIONS = (
    "data_cfg",
    "loss_cfg",
    "model_cfg",
    "optimizer_cfg",
    "scheduler_cfg",
    "trainer_cfg",
    "evaluator_cfg",
)

# Section -> the keys it may hold. Sections not listed (model_cfg, loss_cfg entries,
# optimizer_cfg, scheduler_cfg, transforms) belong to a class and are checked against that
# class's signature when it is built.
KNOWN_KEYS: dict[str, set[str]] = {
    "": set(REQUIRED_SECTIONS),
    "data_cfg": {
        "dataset_name",
        "dataset_root",
        "dataset_partition",
        "num_workers",
        "remove_no_gallery",
        "cache",
        "test_dataset_name",
        "data_in_use",
        "test_dataset_root",
        "test_dataset_partition",
        "synthetic",
    },
    "trainer_cfg": {
        "enable_float16",
        "with_test",
        "fix_BN",
        "find_unused_parameters",
        "log_iter",
        "restore_ckpt_strict",
        "optimizer_reset",
        "scheduler_reset",
        "restore_hint",
        "save_iter",
        "save_name",
        "sync_BN",
        "total_iter",
        "sampler",
        "transform",
        "seed",
        "log_to_file",
        "channels_last",
    },
    "evaluator_cfg": {
        "enable_float16",
        "restore_ckpt_strict",
        "restore_hint",
        "save_name",
        "eval_func",
        "sampler",
        "transform",
        "metric",
        "cross_view_gallery",
        "protocol",
        "rerank",
        "probe_set",
    },
    "trainer_cfg.sampler": SAMPLER_KEYS,
    "evaluator_cfg.sampler": SAMPLER_KEYS,
}


def check_known_keys(cfgs: Mapping[str, Any], source: str, complete: bool = False) -> None:
    """Raise a ConfigError for the first key that no section knows, with the closest key.

    With ``complete`` the config must also hold every section (a merged config does).
    """
    for section, known in KNOWN_KEYS.items():
        node: Any = cfgs
        for part in section.split(".") if section else []:
            node = node.get(part) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            continue
        for key in node:
            if key not in known:
                path = f"{section}.{key}" if section else str(key)
                hint = did_you_mean(str(key), known)
                listing = (
                    "" if hint else f"; known keys of {section or 'the top level'}: {sorted(known)}"
                )
                raise ConfigError(f"{source}: unknown key {path!r}{hint}{listing}")
    if not complete:
        return
    for section in REQUIRED_SECTIONS:
        if section != "loss_cfg" and not isinstance(cfgs.get(section), Mapping):
            raise ConfigError(f"{source}: {section} must be a mapping, got {cfgs.get(section)!r}")
    model = cfgs["model_cfg"].get("model")
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{source}: model_cfg.model must name a model class (e.g. Baseline)")


def check_call_arguments(target: Any, params: Mapping[str, Any], where: str) -> None:
    """Raise a ConfigError if ``target(**params)`` would get a keyword it does not accept."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name != "self"
    ]
    for key in params:
        if key not in accepted:
            raise ConfigError(
                f"{where}: unknown parameter {key!r}{did_you_mean(str(key), accepted)}; "
                f"accepted: {accepted}"
            )
    missing = [
        p.name
        for p in parameters
        if p.default is inspect.Parameter.empty
        and p.name not in params
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name not in ("self", "params", "optimizer")
    ]
    if missing:
        raise ConfigError(f"{where}: missing required parameter(s) {missing}")
