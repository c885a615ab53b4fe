"""Configs: OpenGait's schema, packaged defaults, ``--set`` overrides, checks, saving.

``load_config(path, overrides)`` reads a YAML file, merges it over the packaged defaults
(``defaults.yaml`` beside this file), applies ``KEY.PATH=VALUE`` overrides (values parsed as
YAML), and checks the keys; every problem is a ConfigError naming the file, the line (for
YAML syntax errors) or the key, and the fix.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, did_you_mean
from .validate import check_known_keys

DEFAULTS_PATH = Path(__file__).with_name("defaults.yaml")


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` as a float (YAML 1.1 wants ``1.0e-3``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def yaml_load(text: str) -> Any:
    """Parse YAML safely (no Python objects), with scientific-notation floats."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


# In these sections, naming another class than the default replaces the section.
_CLASS_KEYS = {
    "optimizer_cfg": "solver",
    "scheduler_cfg": "scheduler",
    "sampler": "type",
    "model_cfg": "model",
}


def read_yaml(path: Path | str) -> dict[str, Any]:
    """Parse a YAML mapping; syntax errors name the file, line and column."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    if data is None:
        raise ConfigError(f"{path}: the config is empty")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a config must be a mapping of sections, got {type(data).__name__}"
        )
    return data


def default_config() -> dict[str, Any]:
    """A fresh copy of the packaged defaults."""
    return read_yaml(DEFAULTS_PATH)


def merge(
    base: Mapping[str, Any], override: Mapping[str, Any], section: str = ""
) -> dict[str, Any]:
    """Merge ``override`` over ``base``: dicts key by key, lists and scalars replace.

    A dict that names another class than ``base`` (see ``_CLASS_KEYS``) replaces it whole.
    """
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            class_key = _CLASS_KEYS.get(key)
            if class_key and class_key in value and value[class_key] != current.get(class_key):
                merged[key] = copy.deepcopy(dict(value))
            else:
                merged[key] = merge(current, value, f"{section}.{key}" if section else key)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"trainer_cfg.total_iter=200"`` into (["trainer_cfg", "total_iter"], 200)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"--set {text!r}: expected KEY.PATH=VALUE, e.g. trainer_cfg.total_iter=200"
        )
    try:
        value = yaml_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML ({exc})") from None
    return key.strip().split("."), value


def apply_overrides(cfgs: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``--set`` overrides in order; a path through a non-mapping is an error."""
    for text in overrides:
        keys, value = parse_override(text)
        node: Any = cfgs
        for depth, key in enumerate(keys[:-1]):
            if isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
                continue
            if not isinstance(node, dict):
                raise ConfigError(
                    f"--set {text!r}: {'.'.join(keys[:depth]) or 'the config'} " "is not a mapping"
                )
            if key not in node:
                hint = did_you_mean(key, node)
                raise ConfigError(f"--set {text!r}: no key {'.'.join(keys[:depth + 1])!r}{hint}")
            node = node[key]
        last = keys[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(f"--set {text!r}: {'.'.join(keys[:-1])} is not a mapping")
    return cfgs


def load_config(path: Path | str, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Read, merge, override and check a config.

    Args:
        path: the user's YAML file (OpenGait's schema).
        overrides: ``KEY.PATH=VALUE`` strings, applied after the merge.

    Returns:
        The resolved config, a plain dict.
    """
    overrides = list(overrides)
    user = read_yaml(path)
    check_known_keys(user, str(path))  # report the user's own typos before merging
    cfgs = merge(default_config(), user)
    apply_overrides(cfgs, overrides)
    check_known_keys(cfgs, f"{path} (after --set)" if overrides else str(path), complete=True)
    return cfgs


def save_config(cfgs: Mapping[str, Any], path: Path) -> None:
    """Write the resolved config as YAML atomically (temp file in the folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(_plain(cfgs), handle, sort_keys=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(value: Any) -> Any:
    """Turn Paths and tuples into YAML-safe values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
