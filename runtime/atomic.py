"""Atomic file writes: every file gaitgen writes appears whole or not at all.

A write goes to a temporary file in the target's folder (same filesystem, so the final
``os.replace`` is atomic), is flushed and fsync'ed, then renamed over the target. On any
failure the temporary file is removed and the old target, if any, is left untouched. A full
disk becomes one :class:`~gaitgen.runtime.errors.GaitgenError` naming the path.

    with atomic_path(results_file) as tmp:      # for writers that want a path (torch.save, np.savez)
        np.savez(tmp, ...)
    atomic_write_text(config_file, text)        # for text
    with folder_lock(project_root):             # one writer of a folder at a time
        ...
    check_output_path("--out", out, force=force)  # before any work: a file, not a folder
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import GaitgenError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

TEMP_SUFFIX = ".tmp"


def disk_error(exc: OSError, path: Path | str) -> GaitgenError | None:
    """A clear error for a full disk or a read-only/forbidden target, else None."""
    if exc.errno == errno.ENOSPC:
        return GaitgenError(f"no space left on device while writing {path}: free some space")
    if exc.errno == errno.EDQUOT:
        return GaitgenError(f"disk quota exceeded while writing {path}")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return GaitgenError(f"cannot write {path}: {exc.strerror}")
    return None


def check_output_path(
    option: str,
    path: Path | str,
    *,
    folder: bool = False,
    force: bool | None = None,
    example: str = "",
) -> None:
    """Refuse, before any work, an output path of the wrong kind, naming the option.

    Args:
        option: the option that gave the path (``--out``), for the message.
        path: the file to write or, with ``folder``, the folder to write into (created with
            its parents if missing).
        folder: the command writes files into a folder instead of writing one file.
        force: for a file: None when an existing one is replaced (atomically) anyway; False
            when the command's ``--force`` is off, so an existing file is refused; True when on.
        example: a file name to suggest when a folder was given for a file.

    Raises:
        GaitgenError: ``path`` is a folder where a file is expected, a file where a folder is,
            lies under a file, or exists while ``force`` is False.
    """
    target = Path(path).expanduser()
    if folder and target.exists() and not target.is_dir():
        raise GaitgenError(f"{option}: {path} is a file; give a folder (it is created if missing)")
    if not folder and target.is_dir():
        such_as = f" such as {example}" if example else ""
        raise GaitgenError(f"{option}: {path} is a folder; give a file name{such_as}")
    above = next((p for p in target.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise GaitgenError(f"{option}: {path} lies under {above}, which is a file, not a folder")
    if not folder and force is False and target.exists():
        raise GaitgenError(f"{option}: {path} exists; add --force to replace it")


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsync'ed
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    The writer inside the block writes the whole file to the yielded path (closing it).
    Errors from the block propagate (a full disk as a GaitgenError); the temporary file is
    always removed when the target was not replaced.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX
        )
        os.close(fd)
    except OSError as exc:
        raise (disk_error(exc, target) or exc) from exc
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp makes the file 0600 whatever the umask: give it the mode a plain open() would
        # (an existing target keeps its own mode), so results are readable by the group as usual
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        error = disk_error(exc, target)
        if error is not None:
            raise error from exc
        raise
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
    return Path(path)


def atomic_symlink(target: Path | str, link: Path | str) -> Path:
    """Make ``link`` a symbolic link to ``target``, replacing any old ``link`` atomically."""
    link = Path(link)
    try:
        link.parent.mkdir(parents=True, exist_ok=True)
        temporary = link.parent / f".{link.name}.{os.getpid()}{TEMP_SUFFIX}"
        temporary.unlink(missing_ok=True)
        os.symlink(target, temporary)
        try:
            os.replace(temporary, link)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise (disk_error(exc, link) or exc) from exc
    _fsync_folder(link.parent)
    return link


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))


def remove_stale_temporaries(folder: Path | str, name_glob: str = "*") -> list[Path]:
    """Delete the temporary files that killed writes left in ``folder`` (``.<name>.*.tmp``).

    Returns what was removed. Only files matching ``.{name_glob}.*.tmp`` are touched.
    """
    removed = []
    root = Path(folder)
    if not root.is_dir():
        return removed
    for stale in root.glob(f".{name_glob}.*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed


@contextlib.contextmanager
def folder_lock(folder: Path | str) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` for the block, waiting while another holds it.

    For commands that read files of a folder, compute, and write them back (two generators
    editing one config, two ``synth`` runs into one place): the second waits, then reads
    what the first wrote, so neither's change is lost. The lock is a ``flock`` on the folder
    itself, so no lock file is left behind; the kernel drops it when its process dies. On a
    file system without locks the block runs unlocked.
    """
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock
