"""Configs: OpenGait's schema, packaged defaults, ``--set`` overrides, checks, saving.

``load_config(path, overrides)`` reads a YAML file over the ``_base_`` files it names
(:mod:`.layers`), merges it over the packaged defaults (:mod:`.schema`; ``defaults.yaml``
beside this file lists them with their meaning), applies ``KEY.PATH=VALUE`` overrides (values
parsed as YAML; ``~KEY.PATH`` deletes a key: :mod:`.overrides`), and checks every key, type and range
once (:mod:`.typecheck`); every problem is a ConfigError naming the file and line (or the
override), the key, the value and what was expected. Keys OpenGait's configs carry but
OpenGait ignores are logged as one warning each; :func:`ignored_keys` returns them as data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from . import schema
from .layers import BASE_KEY, merge, read_layered
from .overrides import apply_overrides, parse_override
from .typecheck import Ignored, check_resolved
from .yaml_io import MAX_YAML_DEPTH, MAX_YAML_VALUES, read_yaml, read_yaml_lines, yaml_load

__all__ = [
    "BASE_KEY",
    "DEFAULTS_PATH",
    "MAX_YAML_DEPTH",
    "MAX_YAML_VALUES",
    "apply_overrides",
    "default_config",
    "dump_config",
    "ignored_keys",
    "load_config",
    "merge",
    "parse_override",
    "read_sections",
    "read_yaml",
    "read_yaml_lines",
    "resolve_config",
    "save_config",
    "yaml_load",
]

logger = logging.getLogger(__name__)

DEFAULTS_PATH = Path(__file__).with_name("defaults.yaml")  # generated from .schema


def read_sections(path: Path | str) -> tuple[dict[str, Any], dict[tuple, str]]:
    """A config merged over its ``_base_`` files (:func:`.layers.read_layered`), each of its
    sections a mapping (``loss_cfg``, a mapping or a list, is the schema check's).

    The first check of every config read, the user's or one a run folder recorded.

    Returns:
        The mapping and where each of its values came from: ``{key path: "file:line"}``.

    Raises:
        ConfigError: as :func:`read_yaml_lines` for any of the files, a ``_base_`` problem, or
            ``file:line: section: expected ...``.
    """
    data, locations = read_layered(path)
    for name in schema.TOP_SECTIONS:
        several = name == "data_cfg" and isinstance(data.get(name), list) and data[name]
        if several and all(isinstance(block, Mapping) for block in data[name]):
            continue  # several datasets, each block checked like one data_cfg
        if name in data and not isinstance(data[name], Mapping):
            where = locations.get((name,), str(path))
            also = " or a list of them (several datasets)" if name == "data_cfg" else ""
            raise ConfigError(
                f"{where}: {name}: expected a mapping of {name} keys{also}, got {data[name]!r}"
            )
    return data, locations


def default_config() -> dict[str, Any]:
    """A fresh copy of the packaged defaults (from :mod:`.schema`)."""
    return schema.default_sections()


def _where_function(source: str, locations: dict[tuple, str], origins: dict[tuple, str]):
    """``where(path)``: the override that set the path (or a parent), else the file:line the
    value (or a parent) came from, else the packaged default."""

    def where(path: tuple) -> str:
        for depth in range(len(path), 0, -1):
            if path[:depth] in origins:
                return origins[path[:depth]]
        for depth in range(len(path), 0, -1):
            if path[:depth] in locations:
                return locations[path[:depth]]
        return f"{source} (packaged default)" if path else source

    return where


_WARNED: set[str] = set()


def _warn(found: list[Ignored]) -> None:
    """One warning per ignored key and process (rank 0 only under torchrun)."""
    if os.environ.get("RANK", "0") != "0":
        return
    for item in found:
        message = item.message()
        if message not in _WARNED:
            _WARNED.add(message)
            logger.warning("warning: %s", message)


def resolve_config(
    path: Path | str, overrides: Iterable[str] = ()
) -> tuple[dict[str, Any], list[Ignored]]:
    """Read, merge, override and check a config; also return the OpenGait keys it ignores.

    Args:
        path: the user's YAML file (OpenGait's schema).
        overrides: ``KEY.PATH=VALUE`` strings, applied after the merge.

    Returns:
        The resolved config (a plain dict) and the ignored keys, each with its file and line.

    Raises:
        ConfigError: one line naming the file and line (or override), key, value and fix.
    """
    user, locations = read_sections(path)
    origins: dict[tuple, str] = {}
    where = _where_function(str(path), locations, origins)
    defaults = default_config()
    cfgs = merge(defaults, user)
    if isinstance(cfgs.get("data_cfg"), list):  # several datasets: each over the defaults
        cfgs["data_cfg"] = [merge(defaults["data_cfg"], block) for block in cfgs["data_cfg"]]
    apply_overrides(cfgs, overrides, origins)
    found = check_resolved(cfgs, where)
    return cfgs, found


def ignored_keys(path: Path | str, overrides: Iterable[str] = ()) -> list[Ignored]:
    """The keys of a config that OpenGait accepts and ignores, and so does gaitgen.

    Each item has ``path`` (``trainer_cfg.fix_layers``), ``closest`` (the nearest known key),
    ``why`` and ``where`` (``file:line``); ``item.message()`` is the warning line.
    """
    return resolve_config(path, overrides)[1]


def load_config(path: Path | str, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Read, merge, override and check a config; warn once about each ignored OpenGait key.

    Args:
        path: the user's YAML file (OpenGait's schema).
        overrides: ``KEY.PATH=VALUE`` strings, applied after the merge.

    Returns:
        The resolved config, a plain dict.
    """
    cfgs, found = resolve_config(path, overrides)
    _warn(found)
    return cfgs


def dump_config(cfgs: Mapping[str, Any]) -> str:
    """A resolved config as the YAML text ``save_config`` writes (paths as strings, keys in
    the config's order)."""
    return yaml.safe_dump(_plain(cfgs), sort_keys=False)


def save_config(cfgs: Mapping[str, Any], path: Path, note: str = "") -> None:
    """Write the resolved config as YAML atomically (temp file in the folder, then rename);
    ``note``, if any, heads it as comment lines."""
    from ..atomic import atomic_write_text

    header = "".join(f"# {line}\n" for line in note.splitlines())
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, header + dump_config(cfgs))


def _plain(value: Any) -> Any:
    """Turn Paths and tuples into YAML-safe values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
