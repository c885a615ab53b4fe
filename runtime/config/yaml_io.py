"""Reading YAML safely: bounded documents, scientific-notation floats, the line of each key.

Every config (the user's, its bases, one a run folder recorded) is parsed here;
:mod:`.layers` stacks a config over its ``_base_`` files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

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


def read_yaml(path: Path | str) -> dict[str, Any]:
    """Parse a YAML mapping; syntax errors name the file, line and column."""
    return read_yaml_lines(path)[0]
