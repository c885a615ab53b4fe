"""``--set`` overrides: ``KEY.PATH=VALUE`` sets a value, ``~KEY.PATH`` deletes one.

Values are parsed as YAML (``--set trainer_cfg.sampler.batch_size=[4,4]``), so
``KEY.PATH=null`` sets the value null (a transform of null is no transform). ``~KEY.PATH``
(Hydra's spelling; quote it in a shell) removes the key: in ``data_cfg``, ``trainer_cfg`` and
``evaluator_cfg`` the packaged default applies again, in a class's section (``model_cfg``,
``optimizer_cfg``, ...) the class's own default, and a list entry (``~loss_cfg.1``) is
removed from its list.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from ..errors import ConfigError, did_you_mean
from . import schema
from .typecheck import dotted
from .yaml_io import yaml_load

DELETE_PREFIX = "~"

# the value of a parsed ``~KEY.PATH``: delete the key
DELETE: Any = type("Delete", (), {"__repr__": lambda self: "DELETE"})()


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"trainer_cfg.total_iter=200"`` into (["trainer_cfg", "total_iter"], 200), and
    ``"~trainer_cfg.T_max_iter"`` into (["trainer_cfg", "T_max_iter"], :data:`DELETE`)."""
    if text.startswith(DELETE_PREFIX):
        key = text[len(DELETE_PREFIX) :]
        if "=" in key:
            name = key.partition("=")[0]
            raise ConfigError(
                f"--set {text!r}: a deletion takes no value; delete with --set "
                f"'{DELETE_PREFIX}{name}' or set with --set {name}=VALUE"
            )
        if not key.strip():
            raise ConfigError(
                f"--set {text!r}: expected {DELETE_PREFIX}KEY.PATH, e.g. "
                f"'{DELETE_PREFIX}trainer_cfg.T_max_iter'"
            )
        return key.strip().split("."), DELETE
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"--set {text!r}: expected KEY.PATH=VALUE, e.g. trainer_cfg.total_iter=200 "
            f"(or '{DELETE_PREFIX}KEY.PATH' to delete a key)"
        )
    try:
        value = yaml_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = f" at column {len(key) + 1 + mark.column + 1}" if mark else ""
        raise ConfigError(
            f"--set {text!r}: the value is not valid YAML ({problem}{at}); quote it or fix it"
        ) from None
    return key.strip().split("."), value


def _may_add(node: dict, keys: list[str], depth: int) -> bool:
    """Whether ``--set`` may add the missing key ``keys[depth]`` to ``node``.

    Keys of a class section (its constructor decides), known but unset keys, and the keys
    OpenGait accepts and ignores (warned about like the same key in a file) may be added.
    """
    section = ".".join(keys[:depth])
    if keys[0] in ("model_cfg", "optimizer_cfg", "scheduler_cfg", "loss_cfg"):
        return True
    if keys[:2] == ["data_cfg", "synthetic"] and depth >= 2:  # the generator's parameters
        return True
    if keys[depth] in schema.ignored_in(section):
        return True
    return section in schema.SECTIONS and keys[depth] in schema.known_keys(section)


_MISSING = object()


def _packaged_default(keys: list[str]) -> Any:
    """The packaged default of a key of a schema section (list indexes of several
    ``data_cfg`` blocks skipped), or ``_MISSING`` (a class's key, a list entry, no default)."""
    names = [key for key in keys if not key.isdigit()]
    if len(names) != len(keys) and keys[0] != "data_cfg":
        return _MISSING  # an entry of a list: removed, not reset
    section = ".".join(names[:-1]) or names[0]
    if section not in schema.SECTIONS:
        return _MISSING
    node: Any = schema.default_sections()
    for name in names:
        if not isinstance(node, Mapping) or name not in node:
            return _MISSING
        node = node[name]
    return copy.deepcopy(node)


def _no_key(text: str, node: dict, keys: list[str], depth: int) -> ConfigError:
    known = set(node)
    section = ".".join(keys[:depth])
    if section in schema.SECTIONS:
        known |= schema.known_keys(section)
    hint = did_you_mean(keys[depth], known)
    what = "unknown key" if depth == len(keys) - 1 else "no key"
    return ConfigError(f"--set {text!r}: {what} {'.'.join(keys[: depth + 1])!r}{hint}")


def apply_overrides(
    cfgs: dict[str, Any], overrides: Iterable[str], origins: dict[tuple, str] | None = None
) -> dict[str, Any]:
    """Apply ``--set`` overrides in order; a path through a non-mapping is an error.

    Args:
        cfgs: the merged config, changed in place.
        overrides: ``KEY.PATH=VALUE`` strings (or ``~KEY.PATH``: delete the key).
        origins: filled with the key path each override set -> its text (for messages).
    """
    for text in overrides:
        keys, value = parse_override(text)
        node: Any = cfgs
        path: list[Any] = []
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    count = len(node)
                    raise ConfigError(
                        f"--set {text!r}: {dotted(tuple(path))} is a list of {count} "
                        f"entr{'y' if count == 1 else 'ies'}; use an index 0..{count - 1}"
                        if count
                        else f"--set {text!r}: {dotted(tuple(path))} is an empty list"
                    )
                index = int(key)
                path.append(index)
                if last:
                    _put(node, index, value, keys)
                    break
                node = node[index]
                continue
            if not isinstance(node, dict):
                raise ConfigError(
                    f"--set {text!r}: {dotted(tuple(path)) or 'the config'} is "
                    f"{node!r}, not a mapping"
                )
            path.append(key)
            if key not in node and not (last and _may_add(node, keys, depth)):
                raise _no_key(text, node, keys, depth)
            if last:
                _put(node, key, value, keys)
            else:
                node = node[key]
        if origins is not None:
            origins[tuple(path)] = f"--set {text!r}"
    return cfgs


def _put(node: dict | list, key: Any, value: Any, keys: list[str]) -> None:
    """Set ``node[key]``, or for :data:`DELETE` remove it (a schema key gets its packaged
    default back)."""
    if value is not DELETE:
        node[key] = value
        return
    default = _packaged_default(keys)
    if default is not _MISSING:
        node[key] = default
    elif isinstance(node, list) or key in node:
        del node[key]
