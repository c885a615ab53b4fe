"""Load one sequence file safely: ``.pkl`` (restricted unpickler), ``.npy``, ``.npz``.

A pickle can run arbitrary code when it is loaded. Datasets are downloaded from the
internet, so :func:`load_sequence_file` reads pickles with an unpickler that only knows the
few numpy functions that rebuild arrays and dtypes: anything else (``os.system``,
``builtins.eval``, a torch tensor, a custom class) is refused before it is created, and
nothing in the file is executed. ``.npy``/``.npz`` are read with ``allow_pickle=False``.

This module imports numpy only (no torch), so ``gaitgen check-data`` stays light.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import pickletools
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import DataError

SUPPORTED_SUFFIXES = (".pkl", ".npy", ".npz")

# deflate cannot expand data more than about 1032 times (RFC 1951's longest match per bit); a
# zip member declaring more than this over its compressed size is forged
_DEFLATE_MOST_RATIO = 1032

# (module, name) pairs a numpy-array pickle needs; numpy 2 renamed numpy.core to numpy._core
_ALLOWED_GLOBALS = frozenset(
    [
        (core, name)
        for core in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")
    ]
    + [(core, "_frombuffer") for core in ("numpy.core.numeric", "numpy._core.numeric")]
    + [
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # protocol-2 pickles store bytes through it (pure data)
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("collections", "OrderedDict"),
    ]
)


class _RefusedGlobal(pickle.UnpicklingError):
    """Raised by the restricted unpickler for a global it does not allow."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.qualified_name = f"{module}.{name}"


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and plain containers, nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise _RefusedGlobal(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise _RefusedGlobal("<persistent id>", str(pid)[:40])


def _check_declared_lengths(raw: bytes) -> None:
    """Refuse a pickle whose counted data (bytes, strings) is longer than what follows it.

    The C unpickler allocates the length a ``BINBYTES8`` (or ``BINUNICODE8``...) opcode declares
    before reading it, so 10^11 declared bytes in a tiny file would ask for 100 GB. Walking the
    opcodes over an in-memory copy reads only what the file holds and raises ValueError at the
    first length that runs past its end.
    """
    for _opcode, _argument, _position in pickletools.genops(io.BytesIO(raw)):
        pass


def _load_pickle(path: Path, source: BinaryIO | None = None) -> Any:
    """Unpickle ``path`` (or ``source``, the bytes read from it) with the restricted unpickler,
    after checking that every length it declares fits in the file."""
    try:
        if source is None:
            with open(path, "rb") as file:
                raw = file.read()
        else:
            raw = source.read()
        _check_declared_lengths(raw)
        return _ArrayUnpickler(io.BytesIO(raw)).load()
    except _RefusedGlobal as exc:
        raise DataError(
            f"{path}: refused to unpickle '{exc.qualified_name}': sequence pickles may hold "
            "only numpy arrays and plain containers (a pickle can run code when loaded, so "
            "nothing else is created). Re-save the frames as a numpy array, e.g. "
            "pickle.dump(np.asarray(frames, dtype=np.uint8), f), or as .npy"
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise DataError(
            f"{path}: not a readable pickle ({type(exc).__name__}: {exc}); re-create the file"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None


def _check_npy_header(file: BinaryIO, path: Path, size: int, member: str = "") -> None:
    """Read the ``.npy`` header at the start of ``file`` (``size`` bytes in all) and refuse a
    shape that needs more bytes than follow the header, before numpy allocates that shape.

    Raises:
        DataError: naming the file (and the ``.npz`` member), the declared shape and the size.
    """
    where = f"{path}: member {member}" if member else f"{path}"
    save = "np.savez(path, array)" if member else "np.save(path, array)"
    try:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(file)
        elif version == (2, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(file)
        else:  # 3.0 only stores structured arrays with non-latin-1 field names
            raise ValueError(f"format version {version[0]}.{version[1]} holds no numeric array")
    except ValueError as exc:
        raise DataError(
            f"{where}: not a readable numeric .npy file ({exc}); save a numeric array "
            f"with {save}"
        ) from None
    declared = math.prod(shape) * dtype.itemsize
    held = size - file.tell()
    if declared > held:
        raise DataError(
            f"{where}: the .npy header declares shape {tuple(shape)} of {dtype} "
            f"({declared} bytes), but only {held} bytes of data follow it: the file is "
            f"truncated or its header is wrong; re-create it with {save}"
        )


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    try:
        with open(path, "rb") as file:
            _check_npy_header(file, path, os.fstat(file.fileno()).st_size)
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except ValueError as exc:
        raise DataError(
            f"{path}: not a readable numeric .npy file ({exc}); save a numeric array "
            "with np.save(path, array)"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None


def _load_npz(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if len(keys) != 1:
                raise DataError(
                    f"{path}: an .npz sequence file must hold exactly one array, found "
                    f"{len(keys)} ({', '.join(keys) or 'none'}); save one modality per file"
                )
            _check_npz_member(archive.zip, keys[0], path)
            return archive[keys[0]]
    except (ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(
            f"{path}: not a readable numeric .npz file ({exc}); re-create it with "
            "np.savez(path, array)"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None


def _check_npz_member(archive: zipfile.ZipFile, key: str, path: Path) -> None:
    """Refuse an ``.npz`` member whose sizes cannot hold what its header declares.

    The zip entry's uncompressed size must be one its compressed bytes can give (stored: at
    most those bytes; deflated: at most about 1032 times them), and the ``.npy`` header's shape
    must fit in that size; numpy allocates the declared shape before reading the data.
    """
    name = f"{key}.npy" if f"{key}.npy" in archive.namelist() else key
    info = archive.getinfo(name)
    most = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: _DEFLATE_MOST_RATIO}.get(
        info.compress_type
    )
    if most is not None and info.file_size > most * info.compress_size + 1024:
        raise DataError(
            f"{path}: member {name} declares {info.file_size} bytes uncompressed but holds "
            f"only {info.compress_size} compressed bytes: the archive is damaged or forged; "
            "re-create it with np.savez(path, array)"
        )
    with archive.open(info) as member:
        _check_npy_header(member, path, info.file_size, member=name)


def _as_array(value: Any, path: Path) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, np.ndarray) for v in value):
        shapes = {v.shape for v in value}
        if len(shapes) != 1:
            raise DataError(
                f"{path}: holds a list of frames with different shapes {sorted(shapes)[:3]}; "
                "every frame of a sequence must have the same shape"
            )
        return np.stack(value)
    raise DataError(
        f"{path}: holds a {type(value).__name__}, not an array; a sequence file must hold "
        "one array of frames [T, ...] (silhouettes: uint8 [T, 64, 64])"
    )


def validate_sequence_array(array: np.ndarray, path: Path | str) -> np.ndarray:
    """Check that ``array`` is a non-empty numeric array of frames ``[T, ...]``.

    Args:
        array: the loaded array.
        path: the file it came from, for the error message.

    Returns:
        The same array.

    Raises:
        DataError: naming the file and what is wrong.
    """
    if array.dtype.kind not in "biuf":
        raise DataError(
            f"{path}: array of dtype {array.dtype} is not numeric; store frames as uint8 "
            "(silhouettes) or float"
        )
    if array.ndim < 2:
        raise DataError(
            f"{path}: array of shape {tuple(array.shape)} has {array.ndim} dimension(s); a "
            "sequence needs [frames, ...] with at least 2 (silhouettes: [T, 64, 64])"
        )
    if array.shape[0] == 0:
        raise DataError(
            f"{path}: the sequence is empty (0 frames); delete the file or re-run "
            "'gaitgen prepare'"
        )
    return array


def load_sequence_file(path: str | Path, *, mmap: bool = False) -> np.ndarray:
    """Load one modality of one sequence, refusing anything that is not an array.

    Args:
        path: a ``.pkl``, ``.npy`` or ``.npz`` file.
        mmap: memory-map ``.npy`` files (only the frames used are read from disk).

    Returns:
        The frames, ``[T, ...]`` (silhouettes: uint8 ``[T, 64, 64]``).

    Raises:
        DataError: the file is missing, unreadable, not a safe pickle, not an array, not
            numeric, has fewer than 2 dimensions or 0 frames.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pkl":
        return load_sequence_pickle(path)
    if suffix == ".npy":
        value = _load_npy(path, mmap)
    elif suffix == ".npz":
        value = _load_npz(path)
    else:
        raise DataError(
            f"{path}: unsupported sequence file type '{suffix}'; use one of "
            f"{', '.join(SUPPORTED_SUFFIXES)}"
        )
    return validate_sequence_array(_as_array(value, path), path)


def load_sequence_pickle(path: str | Path, source: BinaryIO | None = None) -> np.ndarray:
    """The frames of a sequence pickle, through the restricted unpickler, checked.

    Args:
        path: the ``.pkl`` file (named in errors).
        source: the file's bytes when already read (e.g. ``io.BytesIO(raw)``); else the file
            is read.

    Returns:
        The frames, ``[T, ...]``.

    Raises:
        DataError: as :func:`load_sequence_file`.
    """
    path = Path(path)
    return validate_sequence_array(_as_array(_load_pickle(path, source), path), path)


def check_same_length(arrays: Sequence[np.ndarray], paths: Sequence[str | Path]) -> None:
    """Raise DataError if the modalities of one sequence have different frame counts."""
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        listing = ", ".join(f"{Path(p).name}: {n}" for p, n in zip(paths, lengths))
        raise DataError(
            f"{Path(paths[0]).parent}: the modalities of this sequence have different frame "
            f"counts ({listing}); every file of a sequence must hold the same frames"
        )
