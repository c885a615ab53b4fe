"""Kept for projects made by gaitgen 0.1, whose ``tests/test_project.py`` imports it, and
for tools written against it (OpenGait parity scripts).

The component scanner is :mod:`gaitgen.runtime.components.scan`; new code imports it there.
"""

from __future__ import annotations

from .components.scan import builtin_components, project_components

__all__ = ["builtin_components", "project_components"]
