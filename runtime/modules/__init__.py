"""Reusable network building blocks (OpenGait's modules) and backbones, under OpenGait's names.

A model file ported from OpenGait imports from here what it imported from OpenGait's
``modeling/modules.py`` and ``modeling/backbones/``::

    from gaitgen.runtime.modules import SetBlockWrapper, SeparateFCs, BasicConv3d, Plain

Every public class and function of this package's files is exported, found by reading the
files (no import) and imported on first use, so a new block file needs no edit here.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ..lazy import lazy_exports

_FOLDER = Path(__file__).resolve().parent


def _public_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.name
        for node in tree.body
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and not node.name.startswith("_")
    ]


def _export_table() -> dict[str, str]:
    """Public name -> module; the first file (in name order, blocks first) that defines it."""
    files = sorted(_FOLDER.glob("*.py"), key=lambda p: (p.stem != "blocks", p.stem))
    table: dict[str, str] = {}
    for file in files:
        if file.name.startswith("_"):
            continue
        for name in _public_names(file):
            table.setdefault(name, f".{file.stem}")
    return table


_EXPORTS = _export_table()
__all__ = sorted(_EXPORTS)


def building_blocks() -> dict[str, str]:
    """Every exported name and the module that defines it (``gaitgen.runtime.modules.blocks``),
    read from the files: nothing (no torch) is imported. ``gaitgen list modules`` shows it."""
    return {name: f"{__name__}{_EXPORTS[name]}" for name in __all__}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
