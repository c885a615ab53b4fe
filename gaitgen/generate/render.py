"""Rendering the generator's Jinja templates in memory, and formatting Python with black."""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path
from typing import Any

from gaitgen.runtime.errors import GenerateError

TEMPLATES_PACKAGE = "gaitgen.templates"


def templates_dir() -> Path:
    """The folder holding the templates (``templates/`` of the repository, package data)."""
    return Path(str(importlib.resources.files(TEMPLATES_PACKAGE)))


def project_template_dir() -> Path:
    """The copier template of ``gaitgen init``."""
    return templates_dir() / "project"


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``; every variable must be given."""
    return _environment().get_template(template).render(**context)


def format_python(source: str, *, line_length: int = 100, origin: str = "template") -> str:
    """Format ``source`` with black.

    Raises:
        GenerateError: the rendered source is not valid Python (a template bug), naming
            ``origin``.
    """
    import black

    try:
        return black.format_str(source, mode=black.Mode(line_length=line_length))
    except black.InvalidInput as exc:
        raise GenerateError(
            f"{origin} rendered invalid Python ({exc}); this is a gaitgen bug, please report it"
        ) from None


def render_python(template: str, *, line_length: int = 100, **context: Any) -> str:
    """Render a Python template and format the result with black."""
    return format_python(render(template, **context), line_length=line_length, origin=template)
