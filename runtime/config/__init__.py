"""Configs: OpenGait's schema, packaged defaults, ``--set`` overrides, checks, saving.

``load_config(path, overrides)`` reads a YAML file, merges it over the packaged defaults
(:mod:`.schema`; ``defaults.yaml`` beside this file lists them with their meaning), applies
``KEY.PATH=VALUE`` overrides (values parsed as YAML), and checks every key, type and range
once (:mod:`.typecheck`); every problem is a ConfigError naming the file and line (or the
override), the key, the value and what was expected. Keys OpenGait's configs carry but
OpenGait ignores are logged as one warning each; :func:`ignored_keys` returns them as data.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, did_you_mean
from . import schema
from .typecheck import Ignored, check_resolved, dotted

logger = logging.getLogger(__name__)

DEFAULTS_PATH = Path(__file__).with_name("defaults.yaml")  # generated from .schema


# bounds on a parsed document, checked before it is built: a config holds a few hundred values
# a dozen levels deep, while a few lines of nested aliases ("billion laughs") expand to
# billions, and thousands of nested brackets overflow every recursive reader of the result
MAX_YAML_VALUES = 100_000
MAX_YAML_DEPTH = 100


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` as a float (YAML 1.1 wants ``1.0e-3``) and stops
    at :data:`MAX_YAML_DEPTH` levels (PyYAML composes nested nodes recursively)."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.MarkedYAMLError(
                    problem=f"it is nested more than {MAX_YAML_DEPTH} levels deep",
                    problem_mark=self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


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


def _check_expansion(root: yaml.Node) -> None:
    """Raise a marked YAML error when ``root`` expands past the bounds (aliases counted every
    time they are used, each node visited once)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if not children_done:
            if key in size:
                continue
            if key in active:
                raise yaml.MarkedYAMLError(
                    problem="an alias refers to a node that contains it",
                    problem_mark=node.start_mark,
                )
            active.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in size)
            continue
        active.discard(key)
        size[key] = 1 + sum(size[id(child)] for child in children)
        depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
        if size[key] > MAX_YAML_VALUES:
            raise yaml.MarkedYAMLError(
                problem=f"its aliases expand to more than {MAX_YAML_VALUES:,} values (a config "
                "holds a few hundred); write the values out or remove the nested aliases",
                problem_mark=node.start_mark,
            )
        if depth[key] > MAX_YAML_DEPTH:
            raise yaml.MarkedYAMLError(
                problem=f"it is nested more than {MAX_YAML_DEPTH} levels deep",
                problem_mark=node.start_mark,
            )


def yaml_load(text: str) -> Any:
    """Parse YAML safely (no Python objects), with scientific-notation floats.

    Raises:
        yaml.YAMLError: invalid YAML, or a document past :data:`MAX_YAML_VALUES` values or
            :data:`MAX_YAML_DEPTH` levels once its aliases are expanded (checked before
            anything is built).
    """
    loader = _Loader(text)  # a SafeLoader
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


# In these sections, naming another class than the default replaces the section.
_CLASS_KEYS = {
    "optimizer_cfg": "solver",
    "scheduler_cfg": "scheduler",
    "sampler": "type",
    "model_cfg": "model",
}


def _key_lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """The 1-based line of every key (and list item) of a composed YAML document."""
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            lines[child] = key_node.start_mark.line + 1
            lines.update(_key_lines(value_node, child))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            lines.update(_key_lines(item, (*path, i)))
    return lines


def read_yaml_lines(path: Path | str) -> tuple[dict[str, Any], dict[tuple, int]]:
    """Parse a YAML mapping and the line of each key, e.g. ``{("trainer_cfg", "total_iter"): 12}``.

    Raises:
        ConfigError: a missing file, invalid YAML (file:line:column), not UTF-8, not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml_load(text)
        document = yaml.compose(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc.strerror or exc})") from None
    if data is None:
        raise ConfigError(f"{path}: the config is empty")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a config must be a mapping of sections, got {type(data).__name__}"
        )
    return data, _key_lines(document) if document is not None else {}


def read_sections(path: Path | str) -> tuple[dict[str, Any], dict[tuple, int]]:
    """:func:`read_yaml_lines` of a config, each of its sections a mapping (``loss_cfg``, a
    mapping or a list, is the schema check's).

    The first check of every config read, the user's or one a run folder recorded.

    Raises:
        ConfigError: as :func:`read_yaml_lines`, or ``file:line: section: expected ...``.
    """
    data, lines = read_yaml_lines(path)
    for name in schema.TOP_SECTIONS:
        several = name == "data_cfg" and isinstance(data.get(name), list) and data[name]
        if several and all(isinstance(block, Mapping) for block in data[name]):
            continue  # several datasets, each block checked like one data_cfg
        if name in data and not isinstance(data[name], Mapping):
            where = f"{path}:{lines[(name,)]}" if (name,) in lines else str(path)
            also = " or a list of them (several datasets)" if name == "data_cfg" else ""
            raise ConfigError(
                f"{where}: {name}: expected a mapping of {name} keys{also}, got {data[name]!r}"
            )
    return data, lines


def read_yaml(path: Path | str) -> dict[str, Any]:
    """Parse a YAML mapping; syntax errors name the file, line and column."""
    return read_yaml_lines(path)[0]


def default_config() -> dict[str, Any]:
    """A fresh copy of the packaged defaults (from :mod:`.schema`)."""
    return schema.default_sections()


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


def apply_overrides(
    cfgs: dict[str, Any], overrides: Iterable[str], origins: dict[tuple, str] | None = None
) -> dict[str, Any]:
    """Apply ``--set`` overrides in order; a path through a non-mapping is an error.

    Args:
        cfgs: the merged config, changed in place.
        overrides: ``KEY.PATH=VALUE`` strings.
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
                    node[index] = value
                node = node[index]
                continue
            if not isinstance(node, dict):
                raise ConfigError(
                    f"--set {text!r}: {dotted(tuple(path)) or 'the config'} is "
                    f"{node!r}, not a mapping"
                )
            path.append(key)
            if key not in node and not (last and _may_add(node, keys, depth)):
                known = set(node)
                section = ".".join(keys[:depth])
                if section in schema.SECTIONS:
                    known |= schema.known_keys(section)
                hint = did_you_mean(key, known)
                what = "unknown key" if last else "no key"
                raise ConfigError(f"--set {text!r}: {what} {'.'.join(keys[: depth + 1])!r}{hint}")
            if last:
                node[key] = value
            else:
                node = node[key]
        if origins is not None:
            origins[tuple(path)] = f"--set {text!r}"
    return cfgs


def _where_function(source: str, lines: dict[tuple, int], origins: dict[tuple, str]):
    """``where(path)``: the override that set the path (or a parent), else file:line."""

    def where(path: tuple) -> str:
        for depth in range(len(path), 0, -1):
            if path[:depth] in origins:
                return origins[path[:depth]]
        for depth in range(len(path), 0, -1):
            if path[:depth] in lines:
                return f"{source}:{lines[path[:depth]]}"
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
    user, lines = read_sections(path)
    origins: dict[tuple, str] = {}
    where = _where_function(str(path), lines, origins)
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
