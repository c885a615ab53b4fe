"""Packages whose public names are imported on first use (PEP 562).

A package lists ``name -> module`` and gets ``__getattr__``/``__dir__``; its light parts
(errors, project discovery, SynthGait's partition rule, data preparation) then import without
paying for torch.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``; ``exports`` maps a name to its module.

    Module names may be relative (``".model"``) to the package. A name is imported once and
    cached in the package's namespace, so later look-ups skip ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
