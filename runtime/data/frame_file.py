"""Read only the sampled frames of a pickled sequence, once its layout is known.

A sequence pickle of a numpy array stores the frames as one block of raw bytes. The first
time a sequence is loaded it goes through the restricted unpickler in full
(:func:`load_pickle_located`), which also finds where that block starts in the file. Later
loads return a :class:`FrameFile`: indexing it copies just the frames asked for (30 of ~80
frames for a typical training sample) and never unpickles again, so nothing in the file is
ever executed. The block is verified byte for byte against the unpickled array before its
offset is trusted; a file whose size changed since is loaded in full again.

Each process keeps its files memory-mapped (read-only, up to :data:`MAX_MAPPED_FILES`): once
a file's pages are mapped, taking frames from it is a plain memory copy with no system call
but the size check. Files beyond that number are read with one ``os.preadv`` per run of
consecutive frames.
"""

from __future__ import annotations

import io
import math
import mmap
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .io import load_sequence_pickle

FRAME_READS = hasattr(os, "preadv")  # POSIX; elsewhere pickles are always loaded in full
_HEADERS = ((b"B", "<I"), (b"\x8e", "<Q"))  # BINBYTES, BINBYTES8 opcodes and length formats
MAX_MAPPED_FILES = 8192  # per process; well under Linux's default of 65530 mappings


class _MappedFiles:
    """Read-only memory maps of sequence files, opened on first use and kept (per process;
    a forked worker inherits its parent's).

    Nothing is evicted: once :data:`MAX_MAPPED_FILES` files are mapped, others are read with
    ``preadv`` instead (no thrashing on datasets larger than that).
    """

    def __init__(self) -> None:
        self.maps: dict[str, tuple[mmap.mmap, int]] = {}

    def get(self, path: str, size: int) -> mmap.mmap | None:
        """The map of ``path`` if it has ``size`` bytes (re-mapped after a change); else None."""
        entry = self.maps.get(path)
        if entry is not None:
            if entry[1] == size:
                return entry[0]
            del self.maps[path]  # changed on disk; the old map is closed when unreferenced
        if len(self.maps) >= MAX_MAPPED_FILES or size == 0:
            return None
        try:
            with open(path, "rb") as file:
                mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
        if len(mapping) != size:
            return None
        self.maps[path] = (mapping, size)
        return mapping


_MAPPED = _MappedFiles()


def locate_array_data(raw: bytes, array: np.ndarray) -> int:
    """Where ``array``'s bytes lie in ``raw`` (a pickle's bytes) as one block; -1 if not so.

    Args:
        raw: the whole pickle file.
        array: the array the restricted unpickler built from it.

    Returns:
        The byte offset of the array's data, verified to hold exactly its bytes, or -1 (the
        array is not C-contiguous uint8 in native order, or its data is not stored raw).
    """
    if array.dtype != np.uint8 or not array.flags.c_contiguous or array.ndim > 5:
        return -1
    size = array.nbytes
    expected = array.reshape(-1)
    for opcode, length in _HEADERS:
        header = opcode + struct.pack(length, size)
        start = raw.rfind(header)  # numpy writes the data block last
        while start != -1:
            offset = start + len(header)
            if offset + size <= len(raw):
                block = np.frombuffer(raw, np.uint8, size, offset)
                if np.array_equal(block, expected):
                    return offset
            start = raw.rfind(header, 0, start)
    return -1


def load_pickle_located(path: str | Path) -> tuple[np.ndarray, int, int]:
    """Load a sequence pickle in full, safely, and locate its frame data.

    Args:
        path: the ``.pkl`` file.

    Returns:
        The validated array, the offset of its data in the file (-1 if it cannot be read
        frame by frame) and the file's size.

    Raises:
        DataError: as :func:`.io.load_sequence_file`.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None
    array = load_sequence_pickle(path, io.BytesIO(raw))
    return array, locate_array_data(raw, array), len(raw)


class FrameFile:
    """The frames of a sequence pickle, read from disk only when indexed.

    Args:
        path: the file.
        offset: where its frame data starts (from :func:`load_pickle_located`).
        shape: the array's shape ``[T, ...]`` (uint8).
        file_size: the file's size when the offset was found.
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, path: str, offset: int, shape: tuple[int, ...], file_size: int) -> None:
        self.path = path
        self.offset = offset
        self.shape = tuple(shape)
        self.file_size = file_size

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        frames = self[:]
        return frames if dtype is None else frames.astype(dtype, copy=False)

    def __getitem__(self, index: Any) -> np.ndarray:
        """The frames ``index`` (an int array, list or slice) as a new uint8 array."""
        if isinstance(index, tuple):
            return self[index[0]][(slice(None), *index[1:])]
        frames = np.arange(self.shape[0])[index]  # bounds and negative indices as numpy
        if frames.ndim == 0:
            return self[[int(frames)]][0]
        out = np.empty((len(frames), *self.shape[1:]), dtype=np.uint8)
        self.read_into(frames, out)
        return out

    def read_into(self, frames: np.ndarray | list[int], out: np.ndarray) -> None:
        """Copy the frames ``frames`` (indices in ``[0, T)``) into ``out`` ``[len, ...]`` uint8.

        Raises:
            DataError: the file shrank while reading it.
        """
        if not out.flags.c_contiguous:
            raise ValueError("FrameFile.read_into needs a C-contiguous output array")
        try:
            size = os.stat(self.path).st_size
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read the file ({exc})") from None
        if size != self.file_size:  # rewritten since: load it again
            out[...] = _reload(self.path)[np.asarray(frames)]
            return
        mapping = _MAPPED.get(self.path, size)
        if mapping is not None:
            data = np.frombuffer(mapping, np.uint8, math.prod(self.shape), self.offset)
            np.take(data.reshape(self.shape), frames, axis=0, out=out, mode="clip")
            return
        frames = frames.tolist() if isinstance(frames, np.ndarray) else list(frames)
        frame_bytes = math.prod(self.shape[1:])
        flat = out.reshape(len(frames), frame_bytes)  # a view: out is C-contiguous
        fd = os.open(self.path, os.O_RDONLY)
        try:
            # one read per run of consecutive frames (measured faster than reading the span
            # of scattered frames into a scratch buffer and gathering them)
            runs = [0] + [k for k in range(1, len(frames)) if frames[k] != frames[k - 1] + 1]
            for k, end in zip(runs, runs[1:] + [len(frames)]):
                self._pread(fd, flat[k:end], frames[k] * frame_bytes)
        finally:
            os.close(fd)

    def _pread(self, fd: int, buffer: np.ndarray, position: int) -> None:
        if os.preadv(fd, [buffer], self.offset + position) != buffer.nbytes:
            raise DataError(f"{self.path}: the file was truncated while reading it")


def _reload(path: str) -> np.ndarray:
    return load_pickle_located(path)[0]
