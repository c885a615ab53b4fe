"""Checking a resolved config against the schema once, at load: keys, types and ranges.

Every problem is one ConfigError line naming where the value came from (``file:line`` or the
``--set`` override), the key, the value and what was expected. Keys OpenGait's configs carry
but OpenGait ignores (:data:`.schema.OPENGAIT_IGNORED`) come back as :class:`Ignored` items,
which the loader logs as one warning each.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, closest, did_you_mean
from ..losses.routing import INPUTS_FROM, inputs_from_problem
from . import schema

# where(path) -> "file.yaml:12" or "--set 'trainer_cfg.total_iter=abc'"
Where = Callable[[tuple], str]

BUILTIN_SAMPLERS = ("TripletSampler", "InferenceSampler", "CommonSampler")


@dataclass(frozen=True)
class Ignored:
    """An OpenGait key found in a config and ignored.

    Attributes:
        path: the dotted key, e.g. ``trainer_cfg.fix_layers``.
        closest: the known key closest to it.
        why: why it is ignored.
        where: the file and line (or override) it came from.
    """

    path: str
    closest: str
    why: str
    where: str

    def message(self) -> str:
        """The warning line."""
        return (
            f"{self.where}: {self.path} is ignored ({self.why}); "
            f"the closest known key is {self.closest!r}"
        )


def dotted(path: tuple) -> str:
    """``("loss_cfg", 0, "margin")`` -> ``loss_cfg[0].margin``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(tp: Any) -> str:
    """A type in words: ``int | list[int]`` -> ``a whole number or a list of whole numbers``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(t) for t in typing.get_args(tp))
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        return "a list" if inner is Any else f"a list of {describe(inner).removeprefix('a ')}s"
    names = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "a string",
        dict: "a mapping",
        list: "a list",
        type(None): "null",
    }
    return names.get(tp, "a value")


def matches(value: Any, tp: Any) -> bool:
    """Whether a YAML value has type ``tp`` (bool is not a number; an int is a float)."""
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, t) for t in typing.get_args(tp))
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        return isinstance(value, list) and all(matches(v, inner) for v in value)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is type(None):
        return value is None
    if tp is dict:
        return isinstance(value, Mapping)
    return isinstance(value, tp)


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
    if "choices" in metadata and isinstance(value, str) and value not in metadata["choices"]:
        return f"one of {', '.join(metadata['choices'])}"
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
    custom_sampler = section.endswith("sampler") and node.get("type") not in BUILTIN_SAMPLERS
    for name, value in node.items():
        key_path = (*path, name)
        if name not in fields:
            if name in ignored:
                item = ignored[name]
                found.append(Ignored(dotted(key_path), item.closest, item.why, where(key_path)))
                continue
            if custom_sampler:
                continue  # its own parameters: checked against its signature when built
            hint = did_you_mean(str(name), fields)
            listing = "" if hint else f"; known keys of {section}: {', '.join(sorted(fields))}"
            raise ConfigError(f"{where(key_path)}: unknown key {dotted(key_path)!r}{hint}{listing}")
        if name == "sampler":
            check_section(value, f"{section}.sampler", where, key_path, found)
            continue
        if name == "transform":
            check_transform(value, where, key_path, found)
            continue
        tp, metadata = hints[name], fields[name].metadata
        if not matches(value, tp):
            raise _bad(where, key_path, value, describe(tp))
        problem = _range_problem(value, metadata)
        if problem and problem.startswith("one of"):
            raise _bad(where, key_path, value, problem)
        if problem:
            union = typing.get_origin(tp) in (typing.Union, types.UnionType)
            expected = f"{describe(tp)}, with numbers {problem}" if union else describe(tp)
            raise _bad(where, key_path, value, expected if union else f"{expected} {problem}")


def _signature_kinds(cls: Any) -> tuple[dict[str, Any], bool] | None:
    """Keyword parameters of ``cls`` with their defaults, and whether it takes ``**kwargs``."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return None
    params, var_keyword = {}, False
    for p in signature.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_keyword = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self":
            params[p.name] = p.default
    return params, var_keyword


def default_type_problem(value: Any, default: Any) -> str | None:
    """What ``value`` should be, judged by a signature default's type, or None if it fits.

    A bool default wants true/false, a number a number, a string a string, a tuple or list a
    list; other defaults (None, objects, no default) accept anything.
    """
    if default is inspect.Parameter.empty or default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "a number"
    if isinstance(default, str) and default != "deprecated":
        return None if isinstance(value, str) else "a string"
    if isinstance(default, (tuple, list)):
        return None if isinstance(value, (list, tuple)) else "a list"
    return None


def check_class_params(
    cls: Any,
    params: Mapping[str, Any],
    section: str,
    where: Where,
    path: tuple,
    found: list[Ignored],
    skip: tuple[str, ...] = (),
) -> None:
    """Check a class section's keys and value types against the class's signature."""
    kinds = _signature_kinds(cls)
    if kinds is None:
        return
    accepted, var_keyword = kinds
    ignored = schema.ignored_in(section)
    for name, value in params.items():
        if name in skip:
            continue
        key_path = (*path, name)
        if name not in accepted:
            if var_keyword:
                continue
            if name in ignored:
                near = closest(str(name), [a for a in accepted if a not in skip], n=1)
                item = ignored[name]
                why = f"{cls.__name__} has no parameter {name!r}: OpenGait drops it"
                found.append(
                    Ignored(dotted(key_path), (near or [item.closest])[0], why, where(key_path))
                )
                continue
            names = [a for a in accepted if a not in ("params", "optimizer")]
            raise ConfigError(
                f"{where(key_path)}: {dotted(key_path)}: {cls.__name__} has no parameter "
                f"{name!r}{did_you_mean(str(name), names)}; its parameters: {', '.join(names)}"
            )
        problem = default_type_problem(value, accepted[name])
        if problem:
            raise _bad(
                where,
                key_path,
                value,
                f"{problem} (as {cls.__name__}'s default " f"{accepted[name]!r})",
            )


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
    from ..data.transforms import builtin_transforms

    cls = builtin_transforms().get(name)
    if cls is None:
        return  # unknown or dotted: resolved (with close matches) when the loader is built
    if name == "Compose":
        trf_cfg = value.get("trf_cfg")
        if not isinstance(trf_cfg, list):
            raise _bad(where, (*path, "trf_cfg"), trf_cfg, "a list of transform configs")
        check_transform(trf_cfg, where, (*path, "trf_cfg"), found)
        return
    check_class_params(cls, value, "transform", where, path, found, skip=("type",))


def check_losses(value: Any, where: Where, path: tuple = ("loss_cfg",)) -> None:
    """``loss_cfg``: one ``{type: Name, ...}`` or a list of them; the rest checked when built.

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
    problem = inputs_from_problem(entries)
    if problem is not None:
        index, message = problem
        entry_path = (
            (*path, index, INPUTS_FROM) if isinstance(value, list) else (*path, INPUTS_FROM)
        )
        raise ConfigError(f"{where(entry_path)}: {dotted(entry_path)}: {message}")


def check_torch_section(
    node: Any, section: str, class_key: str, where: Where, found: list[Ignored]
) -> None:
    """``optimizer_cfg`` / ``scheduler_cfg``: the class exists and its keys fit its signature."""
    if not isinstance(node, Mapping):
        raise _bad(where, (section,), node, f"a mapping with {class_key} and its parameters")
    name = node.get(class_key)
    if not isinstance(name, str) or not name:
        raise _bad(where, (section, class_key), name, "a torch class name")
    import torch

    module = torch.optim if section == "optimizer_cfg" else torch.optim.lr_scheduler
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        return  # the registry names the close matches when it builds the run
    check_class_params(cls, node, section, where, (section,), found, skip=(class_key,))


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
    for section in ("data_cfg", "trainer_cfg", "evaluator_cfg"):
        check_section(cfgs.get(section), section, where, (section,), found)
    model_cfg = cfgs.get("model_cfg")
    if not isinstance(model_cfg, Mapping):
        raise _bad(where, ("model_cfg",), model_cfg, "a mapping with model and its keys")
    model = model_cfg.get("model")
    if not isinstance(model, str) or not model:
        raise _bad(where, ("model_cfg", "model"), model, "a model class name (e.g. Baseline)")
    check_losses(cfgs.get("loss_cfg"), where)
    check_torch_section(cfgs.get("optimizer_cfg"), "optimizer_cfg", "solver", where, found)
    check_torch_section(cfgs.get("scheduler_cfg"), "scheduler_cfg", "scheduler", where, found)
    return sorted(found, key=_line_of)


def _line_of(item: Ignored) -> tuple[int, str]:
    """Sort key: the file line of an ignored key (overrides last)."""
    line = item.where.rpartition(":")[2]
    return (int(line), item.path) if line.isdigit() else (1 << 30, item.path)
