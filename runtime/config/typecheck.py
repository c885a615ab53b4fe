"""Checking a resolved config against the schema once, at load: keys, types and ranges.

Every problem is one ConfigError line naming where the value came from (``file:line`` or the
``--set`` override), the key, the value and what was expected. Keys OpenGait's configs carry
but OpenGait ignores (:data:`.schema.OPENGAIT_IGNORED`) come back as :class:`Ignored` items,
which the loader logs as one warning each.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any

from ..components import KINDS, builtin_components, check_arguments, get
from ..components.arguments import Ignored, Where, describe, dotted, matches
from ..errors import ConfigError, did_you_mean
from ..losses.routing import INPUTS_FROM, inputs_from_problem
from . import schema

__all__ = ["Ignored", "Where", "check_resolved", "dotted"]


def _range_problem(value: Any, metadata: Mapping[str, Any]) -> str | None:
    """What is out of range in ``value`` (numbers, or each number of a list), or None."""
    numbers = value if isinstance(value, list) else [value]
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            continue
        if "minimum" in metadata and number < metadata["minimum"]:
            return f">= {metadata['minimum']}"
        if "above" in metadata and number <= metadata["above"]:
            return f"> {metadata['above']}"
        if "maximum" in metadata and number > metadata["maximum"]:
            return f"<= {metadata['maximum']}"
    choices = metadata.get("choices")
    if choices and isinstance(value, str) and value not in choices:
        return f"one of {', '.join(choices)}"
    if choices and isinstance(value, list) and not set(value) <= set(choices):
        return f"one of {', '.join(choices)} (a list of them)"
    return None


def _bad(where: Where, path: tuple, value: Any, expected: str) -> ConfigError:
    return ConfigError(
        f"{where(path)}: {dotted(path)}: expected {expected}, got {value!r} "
        f"({type(value).__name__})"
    )


def check_section(node: Any, section: str, where: Where, path: tuple, found: list[Ignored]) -> None:
    """Check one schema section (``data_cfg``, ``trainer_cfg.sampler``...) in place."""
    if not isinstance(node, Mapping):
        raise _bad(where, path, node, f"a mapping of {section} keys")
    cls = schema.SECTIONS[section]
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    ignored = schema.ignored_in(section)
    builtin_samplers = {c.name for c in builtin_components("sampler")}
    custom_sampler = section.endswith("sampler") and node.get("type") not in builtin_samplers
    for name, value in node.items():
        key_path = (*path, name)
        if name not in fields:
            if name in ignored:
                item = ignored[name]
                found.append(Ignored(dotted(key_path), item.closest, item.why, where(key_path)))
                continue
            if custom_sampler:
                continue  # its own parameters: checked against its signature when built
            hint = did_you_mean(str(name), [*fields, *ignored])  # a typo of either
            listing = "" if hint else f"; known keys of {section}: {', '.join(sorted(fields))}"
            raise ConfigError(f"{where(key_path)}: unknown key {dotted(key_path)!r}{hint}{listing}")
        if name == "sampler":
            check_section(value, f"{section}.sampler", where, key_path, found)
            continue
        if name == "transform":
            check_transform(value, where, key_path, found)
            continue
        check_value(value, hints[name], fields[name].metadata, where, key_path)


def check_value(
    value: Any, tp: Any, metadata: Mapping[str, Any], where: Where, path: tuple
) -> None:
    """One schema field's value: its type (``tp``) and range (``metadata``)."""
    if not matches(value, tp):
        raise _bad(where, path, value, describe(tp))
    problem = _range_problem(value, metadata)
    if problem and problem.startswith("one of"):
        raise _bad(where, path, value, problem)
    if problem:
        union = typing.get_origin(tp) in (typing.Union, types.UnionType)
        expected = f"{describe(tp)}, with numbers {problem}" if union else describe(tp)
        raise _bad(where, path, value, expected if union else f"{expected} {problem}")


def check_transform(value: Any, where: Where, path: tuple, found: list[Ignored]) -> None:
    """A transform config: None, ``{type: Name, ...}`` or a list of those (Compose nests)."""
    if value is None:
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_transform(item, where, (*path, i), found)
        return
    if not isinstance(value, Mapping):
        raise _bad(where, path, value, "a transform {type: Name, ...}, a list of them or null")
    name = value.get("type")
    if not isinstance(name, str) or not name:
        raise _bad(where, (*path, "type"), name, "a transform class name")
    if name not in {c.name for c in builtin_components("transform")}:
        return  # a project's, dotted or unknown: resolved (with close matches) when built
    if name == "Compose":
        trf_cfg = value.get("trf_cfg")
        if not isinstance(trf_cfg, list):
            raise _bad(where, (*path, "trf_cfg"), trf_cfg, "a list of transform configs")
        check_transform(trf_cfg, where, (*path, "trf_cfg"), found)
        return
    check_builtin("transform", value, where, path, found)


def check_builtin(
    kind: str, block: Mapping, where: Where, path: tuple, found: list[Ignored]
) -> None:
    """A block naming a built-in member of ``kind``: its arguments must fit, said with
    ``file:line``. Other names (a project's, a dotted path, a misspelt one) are looked up,
    with the close matches, when the run builds them."""
    spec = KINDS[kind]
    name = block.get(spec.name_key)
    if name not in {c.name for c in builtin_components(kind)}:
        return
    check_arguments(
        get(kind, name),
        {k: v for k, v in block.items() if k != spec.name_key and k not in spec.not_arguments},
        where,
        path=path,
        supplied=spec.supplied,
        dropped=schema.ignored_in(spec.dropped_section) if spec.dropped_section else None,
        found=found,
    )


def check_losses(
    value: Any, where: Where, found: list[Ignored], path: tuple = ("loss_cfg",)
) -> None:
    """``loss_cfg``: one ``{type: Name, ...}`` or a list of them, each a loss's arguments.

    ``inputs_from`` must name the ``log_prefix`` of another entry that takes no
    ``inputs_from`` itself (the rule: :mod:`gaitgen.runtime.losses.routing`).
    """
    entries = value if isinstance(value, list) else [value]
    if not entries or (isinstance(value, list) and not value):
        raise _bad(where, path, value, "a loss {type: Name, ...} or a non-empty list of them")
    for i, entry in enumerate(entries):
        entry_path = (*path, i) if isinstance(value, list) else path
        if not isinstance(entry, Mapping):
            raise _bad(where, entry_path, entry, "a loss {type: Name, log_prefix: ..., ...}")
        for name, tp in (
            ("type", str),
            ("log_prefix", str),
            ("loss_term_weight", float),
            (INPUTS_FROM, str),
        ):
            if name in entry and not matches(entry[name], tp):
                raise _bad(where, (*entry_path, name), entry[name], describe(tp))
        if "type" not in entry:
            raise ConfigError(f"{where(entry_path)}: {dotted(entry_path)}: a loss needs a 'type'")
        check_builtin("loss", entry, where, entry_path, found)
    problem = inputs_from_problem(entries)
    if problem is not None:
        index, message = problem
        entry_path = (
            (*path, index, INPUTS_FROM) if isinstance(value, list) else (*path, INPUTS_FROM)
        )
        raise ConfigError(f"{where(entry_path)}: {dotted(entry_path)}: {message}")


def check_backbones(model_cfg: Mapping, where: Where, found: list[Ignored]) -> None:
    """``model_cfg.backbone_cfg``, where a model has one: a backbone's arguments."""
    value = model_cfg.get("backbone_cfg")
    blocks = value if isinstance(value, list) else [value]
    for i, block in enumerate(blocks):
        if isinstance(block, Mapping):
            path = ("model_cfg", "backbone_cfg", *([i] if isinstance(value, list) else []))
            check_builtin("backbone", block, where, path, found)


def check_torch_section(
    node: Any, section: str, class_key: str, where: Where, found: list[Ignored]
) -> None:
    """``optimizer_cfg`` / ``scheduler_cfg``: the class exists and its keys fit its signature."""
    if not isinstance(node, Mapping):
        raise _bad(where, (section,), node, f"a mapping with {class_key} and its parameters")
    name = node.get(class_key)
    if not isinstance(name, str) or not name:
        raise _bad(where, (section, class_key), name, "a torch class name")
    own = schema.CLASS_SECTION_KEYS[section]  # gaitgen's keys: checked here, not passed
    hints = typing.get_type_hints(own)
    for f in dataclasses.fields(own):
        if f.name in node:
            check_value(node[f.name], hints[f.name], f.metadata, where, (section, f.name))
    arguments = {k: v for k, v in node.items() if k not in hints}
    check_builtin(
        "optimizer" if section == "optimizer_cfg" else "scheduler",
        arguments,
        where,
        (section,),
        found,
    )


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (one already imported counts), without importing it."""
    if sys.modules.get(module) is not None:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # in sys.modules without a spec
        return True


def check_loggers(trainer_cfg: Mapping[str, Any], where: Where) -> None:
    """Each logger ``trainer_cfg.loggers`` names has its library installed: a missing one is
    one error at load, naming the pip extra, never an ImportError in the middle of a run."""
    for index, name in enumerate(trainer_cfg.get("loggers") or []):
        module, extra = schema.LOGGERS[name]
        if not installed(module):
            path = ("trainer_cfg", "loggers", index)
            raise ConfigError(
                f"{where(path)}: trainer_cfg.loggers names {name}, but the {module} package is "
                f"not installed: pip install 'gaitgen[{extra}]' (or remove {name} from the list)"
            )


def check_resolved(cfgs: Mapping[str, Any], where: Where) -> list[Ignored]:
    """Check a merged config once; return the OpenGait keys it ignores.

    Raises:
        ConfigError: the first unknown key, wrong type or out-of-range value.
    """
    found: list[Ignored] = []
    for name in cfgs:
        if name not in schema.REQUIRED_SECTIONS:
            hint = did_you_mean(str(name), schema.REQUIRED_SECTIONS)
            listing = "" if hint else f"; sections: {', '.join(schema.REQUIRED_SECTIONS)}"
            raise ConfigError(f"{where((name,))}: unknown key {name!r}{hint}{listing}")
    data_cfg = cfgs.get("data_cfg")
    if isinstance(data_cfg, list):  # several datasets: each block is one data_cfg
        if not data_cfg:
            raise _bad(where, ("data_cfg",), data_cfg, "a data_cfg mapping or a non-empty list")
        for i, block in enumerate(data_cfg):
            check_section(block, "data_cfg", where, ("data_cfg", i), found)
    else:
        check_section(data_cfg, "data_cfg", where, ("data_cfg",), found)
    for section in ("trainer_cfg", "evaluator_cfg"):
        check_section(cfgs.get(section), section, where, (section,), found)
    check_loggers(cfgs["trainer_cfg"], where)
    model_cfg = cfgs.get("model_cfg")
    if not isinstance(model_cfg, Mapping):
        raise _bad(where, ("model_cfg",), model_cfg, "a mapping with model and its keys")
    model = model_cfg.get("model")
    if not isinstance(model, str) or not model:
        raise _bad(where, ("model_cfg", "model"), model, "a model class name (e.g. Baseline)")
    check_backbones(model_cfg, where, found)
    check_losses(cfgs.get("loss_cfg"), where, found)
    check_torch_section(cfgs.get("optimizer_cfg"), "optimizer_cfg", "solver", where, found)
    check_torch_section(cfgs.get("scheduler_cfg"), "scheduler_cfg", "scheduler", where, found)
    return sorted(found, key=_line_of)


def _line_of(item: Ignored) -> tuple[int, str]:
    """Sort key: the file line of an ignored key (overrides last)."""
    line = item.where.rpartition(":")[2]
    return (int(line), item.path) if line.isdigit() else (1 << 30, item.path)
