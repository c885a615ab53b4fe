"""runtime.atomic: a file appears whole or not at all, with the mode a plain write gives."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from gaitgen.runtime.atomic import (
    atomic_path,
    atomic_write_text,
    remove_stale_temporaries,
)
from gaitgen.runtime.errors import GaitgenError


def test_a_write_replaces_the_target_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="writer failed"):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_full_disk_names_the_path(tmp_path: Path) -> None:
    target = tmp_path / "embeddings.npz"
    with pytest.raises(GaitgenError, match=f"no space left on device while writing {target}"):
        with atomic_path(target):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert not any(tmp_path.iterdir())


def test_new_files_get_the_umask_mode_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    old_mask = os.umask(0o022)
    try:
        fresh = atomic_write_text(tmp_path / "fresh.txt", "x")
        assert fresh.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        kept = tmp_path / "kept.txt"
        kept.write_text("x")
        kept.chmod(0o600)
        atomic_write_text(kept, "y")
        assert kept.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old_mask)


def test_stale_temporaries_of_killed_writes_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".run-00002.pt.abc123.tmp").write_text("half")
    (tmp_path / "run-00001.pt").write_text("whole")
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [".run-00002.pt.abc123.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == ["run-00001.pt"]
