"""Checking a config's keys and a component's parameters, with hints for the fix."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, MutableMapping
from typing import Any

from ..errors import ConfigError, did_you_mean
from . import schema
from .typecheck import default_type_problem

# Derived from the schema (the one place keys are defined); kept for code that lists keys.
SAMPLER_KEYS = schema.known_keys("trainer_cfg.sampler")
REQUIRED_SECTIONS = schema.REQUIRED_SECTIONS

# Section -> the keys it may hold. Sections not listed (model_cfg, loss_cfg entries,
# optimizer_cfg, scheduler_cfg, transforms) belong to a class and are checked against that
# class's signature when it is built.
KNOWN_KEYS: dict[str, set[str]] = {
    "": schema.known_keys(""),
    **{section: schema.known_keys(section) for section in schema.SECTIONS},
}


def check_known_keys(cfgs: Mapping[str, Any], source: str, complete: bool = False) -> None:
    """Raise a ConfigError for the first key no section knows (OpenGait-ignored keys pass).

    The full check (types, ranges) is :func:`.typecheck.check_resolved`, which
    :func:`gaitgen.runtime.config.load_config` runs; this one checks a partial config's keys.
    With ``complete`` the config must also hold every section (a merged config does).
    """
    for section, known in KNOWN_KEYS.items():
        node: Any = cfgs
        for part in section.split(".") if section else []:
            node = node.get(part) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            continue
        allowed = known | set(schema.ignored_in(section))
        for key in node:
            if key not in allowed:
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
    """Raise a ConfigError if ``target(**params)`` would get a keyword it does not accept.

    Values are also checked against the types of the signature's defaults (a number where
    the default is a number...). A key OpenGait drops for this kind of section
    (:data:`.schema.OPENGAIT_IGNORED`, e.g. ``momentum`` given to Adam) is removed from
    ``params`` when it is a mutable dict (the load already warned about it), so that the
    caller's ``target(**params)`` works as in OpenGait.

    Args:
        target: the class or function to be called.
        params: its keyword arguments from the config.
        where: the config section, e.g. ``"optimizer_cfg (Adam)"``.
    """
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    defaults = {
        p.name: p.default
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name != "self"
    }
    accepted = list(defaults)
    droppable = schema.ignored_in(where.split(" ")[0])
    for key in list(params):
        if key not in accepted:
            if key in droppable and isinstance(params, MutableMapping):
                del params[key]
                continue
            raise ConfigError(
                f"{where}: unknown parameter {key!r}{did_you_mean(str(key), accepted)}; "
                f"accepted: {accepted}"
            )
        problem = default_type_problem(params[key], defaults[key])
        if problem:
            raise ConfigError(
                f"{where}: {key}: expected {problem} (as the default {defaults[key]!r}), "
                f"got {params[key]!r} ({type(params[key]).__name__})"
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
