"""The one place gaitgen uses copier's private API: an update from a pinned old template.

copier's public ``run_update`` takes the *old* template from the project's answers file
(``_src_path`` and ``_commit``). ``gaitgen upgrade`` must instead name it itself: the answers
file records the template as ``gaitgen init`` installed it (a folder, not a git repository),
and the upgrade builds a throwaway repository with the old and new versions as tags (see
:mod:`gaitgen.generate.upgrade`). Changing the answers file first would leave uncommitted
changes, which copier refuses. So this module builds copier's ``Worker`` and sets its
subproject's old template by hand: private names, which copier may change in any release.

Every private access is here, and :data:`SUPPORTED_COPIER` is the range of copier versions
it is written for; ``tests/test_copier_adapter.py`` pins the installed copier to it and runs
an update through it. A copier outside the range is refused with one clear line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gaitgen.runtime.errors import GenerateError

# the copier versions whose private Worker/Subproject/Template this module is written for
SUPPORTED_COPIER = ">=9.0,<10"


def check_copier_version(version: str) -> None:
    """Raise unless copier ``version`` is one this adapter supports.

    Raises:
        GenerateError: the version is outside :data:`SUPPORTED_COPIER`.
    """
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        supported = Version(version) in SpecifierSet(SUPPORTED_COPIER)
    except InvalidVersion:
        supported = False
    if not supported:
        raise GenerateError(
            f"gaitgen upgrade works with copier {SUPPORTED_COPIER}, and copier {version} is "
            f"installed: pip install 'copier{SUPPORTED_COPIER}'"
        )


def update_from(
    root: Path, repository: Path, old_ref: str, new_ref: str, data: dict[str, Any]
) -> None:
    """Update the project at ``root`` from ``repository`` at ``old_ref`` to ``new_ref``.

    copier renders ``old_ref`` with the project's answers, diffs it against the project,
    renders ``new_ref`` and applies the diff, with conflicts inline. The template's
    ``_migrations`` may run (gaitgen's own templates only come here).

    Args:
        root: the project folder (under git, no uncommitted changes).
        repository: a git repository of the template with both refs.
        old_ref, new_ref: the tags of the template the project was made with, and of the
            one to take.
        data: answers to set without asking (the values ``gaitgen init`` computes).

    Raises:
        GenerateError: an unsupported copier, or copier refusing or failing (the message
            says the project was left as it was; the caller puts it back).
    """
    import copier
    from copier.errors import CopierError

    check_copier_version(copier.__version__)
    try:
        from copier._main import Worker
        from copier._template import Template
    except ImportError:  # copier < 9.5 named its modules without the underscore
        from copier.main import Worker  # type: ignore[no-redef]
        from copier.template import Template  # type: ignore[no-redef]

    worker = Worker(
        dst_path=root,
        src_path=str(repository),
        vcs_ref=new_ref,
        data=data,
        defaults=True,
        overwrite=True,
        conflict="inline",
        quiet=True,
        unsafe=True,  # gaitgen's own templates: their _migrations may run
    )
    old = Template(url=str(repository), ref=old_ref)
    worker.subproject.__dict__["template"] = old  # a cached_property: set before it is read
    try:
        with worker:
            worker.run_update()
    except CopierError as exc:
        raise GenerateError(f"upgrade: {exc}; the project was left as it was") from None
    finally:
        old._cleanup()
