"""Kept for tools written against gaitgen 0.1 (``resolve(kind, name, project)``), such as
OpenGait parity scripts; the component lookup is :mod:`gaitgen.runtime.components`."""

from __future__ import annotations

from typing import Any

from .components import get
from .project import Project

__all__ = ["resolve"]


def resolve(kind: str, name: str, project: Project | None) -> Any:
    """The member of ``kind`` called ``name`` (:func:`gaitgen.runtime.components.get`)."""
    return get(kind, name, project)
