"""Careful text edits of block-style YAML configs that keep every comment and blank line.

A ``yaml.safe_load`` / ``yaml.dump`` round trip would drop the comments researchers leave in
their configs, so the generators edit the text: find the lines of a key's block, insert the
new lines at its end. Callers parse the result and compare it with what they meant to get
(:func:`gaitgen.generate.loss.add_loss_to_config` does), so an edit that YAML reads
differently is refused instead of written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaitgen.runtime.errors import GenerateError


def read_config(path: Path, where: str, fix: str = "fix it first") -> tuple[str, dict[str, Any]]:
    """Read a YAML config the generators edit or copy from: its text and its mapping.

    Args:
        path: the file.
        where: how to name it in messages (``configs/x.yaml``).
        fix: what the user should do, ending each message.

    Raises:
        GenerateError: one line naming the file (and the line for invalid YAML): not
            readable, not UTF-8, invalid YAML or not a mapping.
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GenerateError(f"{where}: not a UTF-8 text file; {fix}") from None
    except OSError as exc:
        raise GenerateError(f"{where}: cannot read it ({exc.strerror or exc}); {fix}") from None
    try:
        cfgs = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GenerateError(f"{where}{at}: invalid YAML ({problem}); {fix}") from None
    if cfgs is None:
        cfgs = {}
    if not isinstance(cfgs, dict):
        raise GenerateError(
            f"{where}: a config must be a mapping of sections, got {type(cfgs).__name__}; {fix}"
        )
    return text, cfgs


@dataclass(frozen=True)
class Block:
    """The lines of ``key:`` and its body in a list of lines.

    Attributes:
        key_line: index of the ``key:`` line.
        end: index after the body's last content line (trailing blank and comment lines are
            left to whatever follows).
        indent: indentation of the key.
        inline: the value written on the key's line itself (comment stripped), "" for a block.
    """

    key_line: int
    end: int
    indent: int
    inline: str

    @property
    def body(self) -> range:
        return range(self.key_line + 1, self.end)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _strip_comment(value: str) -> str:
    return re.sub(r"(^|\s)#.*$", "", value).strip()


def split_lines(text: str) -> list[str]:
    """Lines with their endings; the last line always ends with a newline."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def find_block(
    lines: list[str], key: str, *, start: int = 0, stop: int | None = None, indent: int = 0
) -> Block | None:
    """Find ``key:`` at exactly ``indent`` spaces within ``lines[start:stop]``.

    Returns:
        The block, or None when the key is not there.
    """
    stop = len(lines) if stop is None else stop
    pattern = re.compile(rf"^ {{{indent}}}{re.escape(key)}\s*:(\s.*)?$")
    for index in range(start, stop):
        match = pattern.match(lines[index].rstrip("\n"))
        if not match:
            continue
        inline = _strip_comment(match.group(1) or "")
        end = index + 1
        last_content = index
        while end < stop:
            line = lines[end]
            if _is_content(line):
                deeper = _indent(line) > indent
                # "key:" followed by "- item" at the key's own indentation is a list too
                same_level_item = _indent(line) == indent and line.lstrip().startswith("-")
                if not (deeper or (same_level_item and not inline)):
                    break
                last_content = end
            end += 1
        return Block(key_line=index, end=last_content + 1, indent=indent, inline=inline)
    return None


def first_content(lines: list[str], block: Block) -> int | None:
    """Index of the first content line of a block's body, or None for an empty body."""
    for index in block.body:
        if _is_content(lines[index]):
            return index
    return None


def block_text(text: str, key: str) -> str | None:
    """The text of a top-level key's block (``key:`` line and body, comments kept)."""
    lines = split_lines(text)
    block = find_block(lines, key)
    if block is None:
        return None
    return "".join(lines[block.key_line : block.end])


def scalar(value: Any) -> str:
    """A YAML scalar (or flow list) as it would appear after ``key: ``."""
    import yaml

    dumped = yaml.safe_dump([value], default_flow_style=True, width=10_000).strip()
    return dumped[1:-1]  # "[value]" -> "value"


def mapping_lines(entry: dict[str, Any], indent: int, *, list_item: bool) -> list[str]:
    """``entry`` as block-style lines, optionally as one ``- `` item of a list."""
    lines = []
    for number, (key, value) in enumerate(entry.items()):
        lead = " " * indent + ("- " if number == 0 else "  ") if list_item else " " * indent
        lines.append(f"{lead}{key}: {scalar(value)}\n")
    return lines


def append_list_item(text: str, key: str, entry: dict[str, Any], where: str) -> str:
    """Add ``entry`` as the last item of the top-level list ``key`` (e.g. ``loss_cfg``).

    A missing key is added at the end of the file; a single mapping (OpenGait allows
    ``loss_cfg`` to be one dict) becomes the first item of a list.

    Args:
        text: the YAML text.
        key: the top-level key.
        entry: the mapping to add.
        where: the file name, for errors.

    Raises:
        GenerateError: the key's value is written in flow style (``[...]``/``{...}``).
    """
    lines = split_lines(text)
    block = find_block(lines, key)
    if block is None:
        separator = ["\n"] if lines and lines[-1].strip() else []
        return "".join(lines + separator + [f"{key}:\n"] + mapping_lines(entry, 2, list_item=True))
    if block.inline == "[]":
        lines[block.key_line] = f"{key}:\n"
        lines[block.key_line + 1 : block.key_line + 1] = mapping_lines(entry, 2, list_item=True)
        return "".join(lines)
    if block.inline:
        raise GenerateError(
            f"{where} line {block.key_line + 1}: {key} is written on one line (flow style), "
            f"which gaitgen does not edit; add the entry shown above by hand"
        )
    first = first_content(lines, block)
    if first is None:
        lines[block.end : block.end] = mapping_lines(entry, 2, list_item=True)
        return "".join(lines)
    item_indent = _indent(lines[first])
    if not lines[first].lstrip().startswith("-"):
        _mapping_to_list(lines, block, first, item_indent)
    lines[block.end : block.end] = mapping_lines(entry, item_indent, list_item=True)
    return "".join(lines)


def _mapping_to_list(lines: list[str], block: Block, first: int, indent: int) -> None:
    """Turn a block mapping into the single item of a block list, in place."""
    for index in range(first, block.end):
        line = lines[index]
        if not line.strip() or _indent(line) < indent:
            continue
        if index == first:
            lines[index] = " " * indent + "- " + line[indent:]
        else:
            lines[index] = "  " + line


def remove_list_item(text: str, key: str, index: int, where: str) -> str:
    """Remove item ``index`` of the top-level block list ``key``; the key too if it was the last.

    The inverse of :func:`append_list_item` (``gaitgen destroy loss`` uses it). Comments
    around the item are kept; the caller compares the parsed result with what it meant.

    Raises:
        GenerateError: the key is missing, not a block list, or has no such item.
    """
    lines = split_lines(text)
    block = find_block(lines, key)
    first = None if block is None or block.inline else first_content(lines, block)
    if block is None or first is None or not lines[first].lstrip().startswith("-"):
        raise GenerateError(
            f"{where}: {key} is not a block list (- items) gaitgen can edit; remove the entry "
            "by hand"
        )
    item_indent = _indent(lines[first])
    starts = [
        line_index
        for line_index in block.body
        if _is_content(lines[line_index])
        and _indent(lines[line_index]) == item_indent
        and lines[line_index].lstrip().startswith("-")
    ]
    if not 0 <= index < len(starts):
        raise GenerateError(f"{where}: {key} has no item {index}; remove the entry by hand")
    if len(starts) == 1:
        del lines[block.key_line : block.end]
        return "".join(lines)
    stop = starts[index + 1] if index + 1 < len(starts) else block.end
    del lines[starts[index] : stop]
    return "".join(lines)
