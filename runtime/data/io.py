"""Load one sequence file safely: ``.pkl`` (restricted unpickler), ``.npy``, ``.npz``.

A pickle can run arbitrary code when it is loaded. Datasets are downloaded from the
internet, so :func:`load_sequence_file` reads pickles with an unpickler that only knows the
few numpy functions that rebuild arrays and dtypes: anything else (``os.system``,
``builtins.eval``, a torch tensor, a custom class) is refused before it is created, and
nothing in the file is executed. ``.npy``/``.npz`` are read with ``allow_pickle=False``.

This module imports numpy only (no torch), so ``gaitgen check-data`` stays light.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import DataError

SUPPORTED_SUFFIXES = (".pkl", ".npy", ".npz")

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


def _load_pickle(path: Path, source: BinaryIO | None = None) -> Any:
    """Unpickle ``path`` (or ``source``, the bytes read from it) with the restricted unpickler."""
    try:
        if source is not None:
            return _ArrayUnpickler(source).load()
        with open(path, "rb") as file:
            return _ArrayUnpickler(file).load()
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


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    try:
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
            return archive[keys[0]]
    except (ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(
            f"{path}: not a readable numeric .npz file ({exc}); re-create it with "
            "np.savez(path, array)"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None


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
