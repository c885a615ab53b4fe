"""An exclusive lock on a run folder, so two ``gaitgen train`` runs never share one.

The lock is ``<run>/train.lock``, held with ``fcntl.flock`` for as long as the training
process lives, and holding ``pid host started`` of its owner for the message a second run
prints. The kernel releases a flock when its process dies (even by SIGKILL), so a lock file
left by a killed run is not held by anyone: the next run takes it over with a warning.

The lock belongs to the training process alone. A forked child (a DataLoader worker)
would share the flock through the inherited descriptor and keep it after its parent was
killed, so a restarted or resumed run would be refused naming a dead pid; every child
therefore closes its copy right after the fork (:func:`_drop_in_forked_child`).

    lock = RunLock.acquire(run_dir)     # RunLockedError names the holder
    try:
        ...
    finally:
        lock.release()
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..atomic import disk_error
from ..errors import GaitgenError
from .run_folder import LOCK_FILE

try:  # POSIX; on other systems the lock file is created exclusively (O_EXCL) instead
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("gaitgen")

_HELD: set[RunLock] = set()  # the locks this process holds, for the forked-child hook


def _drop_in_forked_child() -> None:
    """In a forked child, close the inherited descriptors of this process's run locks.

    Closing (never unlinking) leaves the parent's lock as it was; the child simply stops
    being a second holder that outlives a killed parent.
    """
    for lock in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(lock._fd)  # type: ignore[arg-type]
        lock._fd = None
    _HELD.clear()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_drop_in_forked_child)


class RunLockedError(GaitgenError):
    """The run folder is in use by another training run."""


def _holder(path: Path) -> tuple[str, str, str]:
    """(pid, host, started) written in a lock file; "?" for what cannot be read."""
    try:
        fields = path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError):
        fields = []
    fields += ["?"] * (3 - len(fields))
    pid, host, started = fields[:3]
    return pid, host, started


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _describe(pid: str, host: str, started: str) -> str:
    since = ""
    if started.isdigit():
        since = ", since " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(started)))
    return f"pid {pid} on host {host}{since}"


class RunLock:
    """A held lock on a run folder; :meth:`release` (or process exit) lets it go."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, run_dir: Path) -> RunLock:
        """Take the lock of ``run_dir`` (created if needed) or raise naming who holds it.

        Raises:
            RunLockedError: another live process holds it.
        """
        path = Path(run_dir) / LOCK_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if fcntl is None:  # pragma: no cover - Windows
                return cls._acquire_exclusive(path)
            return cls._acquire_flock(path)
        except OSError as exc:
            raise (disk_error(exc, path) or exc) from exc

    @classmethod
    def _acquire_flock(cls, path: Path) -> RunLock:
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise RunLockedError(cls._refusal(path)) from None
            # the holder may have removed the file between our open and our flock: then we
            # hold a lock on a deleted file, and must lock the path anew
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        lock = cls(path, fd)
        _HELD.add(lock)
        lock._take_over_message()
        lock._write_owner()
        return lock

    @classmethod
    def _acquire_exclusive(cls, path: Path) -> RunLock:  # pragma: no cover - Windows
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pid, host, started = _holder(path)
            if host == socket.gethostname() and not _alive(pid):
                log.warning("taking over the stale lock %s of %s", path, _describe(*_holder(path)))
                path.unlink(missing_ok=True)
                return cls._acquire_exclusive(path)
            raise RunLockedError(cls._refusal(path)) from None
        lock = cls(path, fd)
        lock._write_owner()
        return lock

    @staticmethod
    def _refusal(path: Path) -> str:
        holder = _describe(*_holder(path))
        return (
            f"{path.parent} is in use by another 'gaitgen train' ({holder}); wait for it to "
            "finish, stop it, or train into another folder with --set trainer_cfg.save_name=NEW"
        )

    def _take_over_message(self) -> None:
        pid, host, started = _holder(self.path)
        if pid == "?" or (pid == str(os.getpid()) and host == socket.gethostname()):
            return
        state = "no longer running" if host != socket.gethostname() or not _alive(pid) else ""
        log.warning(
            "taking over the stale lock %s of %s%s (it stopped without releasing it)",
            self.path,
            _describe(pid, host, started),
            f", {state}" if state else "",
        )

    def _write_owner(self) -> None:
        assert self._fd is not None
        text = f"{os.getpid()} {socket.gethostname()} {int(time.time())}\n".encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text, 0)
        os.fsync(self._fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Remove the lock file and let the lock go (idempotent)."""
        if self._fd is None:
            return
        _HELD.discard(self)
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still holding it, so no one locks a file we delete
        with contextlib.suppress(OSError):
            os.close(self._fd)  # closing releases the flock
        self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def lock_on_rank0(run_dir: Path, ctx: Any) -> RunLock | None:
    """Rank 0 takes the lock of ``run_dir``; every rank learns whether it could.

    Under torchrun the other ranks do not lock (one holder per job); they raise the same
    RunLockedError as rank 0 instead of waiting for it in a collective forever.
    """
    lock, refusal = None, None
    if ctx.is_main:
        try:
            lock = RunLock.acquire(run_dir)
        except RunLockedError as exc:
            refusal = str(exc)
    if ctx.distributed:
        from ..distributed import broadcast_object

        refusal = broadcast_object(refusal)
    if refusal is not None:
        if lock is not None:
            lock.release()
        raise RunLockedError(refusal)
    return lock


def check_unlocked(run_dir: Path) -> None:
    """Raise :class:`RunLockedError` now if another run holds ``run_dir`` (a probe only).

    The launcher calls it before starting torchrun, so a second run fails with one line
    instead of one traceback per process; the workers' own lock is what really guards.
    """
    path = Path(run_dir) / LOCK_FILE
    if not path.exists():
        return
    if fcntl is None:  # pragma: no cover - Windows
        pid, host, _ = _holder(path)
        if host == socket.gethostname() and not _alive(pid):
            return
        raise RunLockedError(RunLock._refusal(path))
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise RunLockedError(RunLock._refusal(path)) from None
        raise
    finally:
        os.close(fd)
