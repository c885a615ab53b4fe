"""Stacking configs: the merge rule, and a config over the ``_base_`` files it names.

A config may start with ``_base_: ../baseline.yaml`` (or a list of files), each relative to
the folder of the file that names it; the bases are merged in order, each over the one
before, and the config over them all, with :func:`merge` (mappings key by key, lists and
scalars replaced). A base may name bases of its own; a file that comes back to itself is
refused with the chain of files. Every value keeps the ``file:line`` it came from, so an
error in a value a base set names the base's line.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .yaml_io import read_yaml_lines

BASE_KEY = "_base_"

# In these sections, naming another class than the default replaces the section.
_CLASS_KEYS = {
    "optimizer_cfg": "solver",
    "scheduler_cfg": "scheduler",
    "sampler": "type",
    "model_cfg": "model",
}


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


def read_layered(path: Path | str) -> tuple[dict[str, Any], dict[tuple, str]]:
    """A config merged over its ``_base_`` files, and where each value came from.

    Args:
        path: the config file.

    Returns:
        The merged mapping (without ``_base_``) and ``{key path: "file:line"}``, e.g.
        ``{("trainer_cfg", "total_iter"): "configs/base.yaml:12"}``, for every key and list
        item of it.

    Raises:
        ConfigError: as :func:`.yaml_io.read_yaml_lines` for any of the files, a ``_base_``
            that is not a path or a list of paths, a base that does not exist, or a cycle
            (naming the files in order).
    """
    return _read(Path(path), ())


def _read(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], dict[tuple, str]]:
    data, lines = read_yaml_lines(path)
    shown = os.path.normpath(path)  # configs/../base.yaml is shown as base.yaml
    locations = {key: f"{shown}:{line}" for key, line in lines.items()}
    if BASE_KEY not in data:
        return data, locations
    names = data.pop(BASE_KEY)
    where = locations.get((BASE_KEY,), shown)
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(
            f"{where}: {BASE_KEY}: expected a config file or a list of them (relative to "
            f"{path.parent}), got {names!r}"
        )
    here = path.resolve()
    merged: dict[str, Any] = {}
    merged_locations: dict[tuple, str] = {}
    for name in names:
        base = Path(os.path.expanduser(name))
        base = base if base.is_absolute() else path.parent / base
        if base.resolve() in (*chain, here):
            files = " -> ".join(str(p) for p in (*chain, here, base.resolve()))  # the cycle
            raise ConfigError(
                f"{where}: {BASE_KEY}: the configs inherit from each other in a cycle ({files}); "
                f"remove one of these {BASE_KEY} entries"
            )
        if not base.is_file():
            raise ConfigError(
                f"{where}: {BASE_KEY}: no config file {name!r} (looked for {base}; a base is "
                "relative to the folder of the config naming it)"
            )
        base_data, base_locations = _read(base, (*chain, here))
        merged = merge(merged, base_data)
        merged_locations = {**merged_locations, **base_locations}
    merged = merge(merged, data)
    locations = {key: at for key, at in locations.items() if key[0] != BASE_KEY}
    combined = {**merged_locations, **locations}
    return merged, {key: at for key, at in combined.items() if _holds(merged, key)}


def _holds(data: Any, path: tuple) -> bool:
    """Whether the key path exists in ``data`` (a value a later file replaced does not)."""
    node = data
    for key in path:
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return False
    return True
