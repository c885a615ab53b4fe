"""``embeddings.npz``: a test set's features and labels, saved so it can be evaluated again.

Arrays: ``feature`` ``[N, c, p]`` (float), ``label``, ``type``, ``view`` (unicode strings,
length ``N``), and optionally ``dataset_name`` (a 0-d string). A segmentation model's file
holds ``pred`` and ``mask`` (float ``[frames, 1, H, W]``) instead of ``feature``
(``gaitgen evaluate FILE --protocol evaluate_segmentation``). Loading uses
``allow_pickle=False``, so an untrusted file can hold data but never run code.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from gaitgen.runtime.atomic import atomic_path
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.evaluation.functions import EMBEDDINGS, SEGMENTATION, SEGMENTATION_ARRAYS
from gaitgen.runtime.evaluation.inputs import EvalData

REQUIRED_ARRAYS = ("feature", "label", "type", "view")


def _strings(values: Sequence[str], name: str) -> np.ndarray:
    array = np.asarray([str(v) for v in values], dtype=str)
    if array.ndim != 1:
        raise DataError(f"{name}: expected a flat list of strings, got shape {array.shape}")
    return array


def save_embeddings(
    path: str | Path,
    feature,
    label: Sequence[str],
    type: Sequence[str],  # noqa: A002 - OpenGait's name for the sequence type
    view: Sequence[str],
    dataset_name: str | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write ``feature``, ``label``, ``type``, ``view`` to ``path`` (a ``.npz`` file).

    Args:
        path: the file to write (``.npz`` is not appended).
        feature: ``[N, c, p]`` features (numpy array or torch tensor); ``None`` for an
            evaluation that reads other arrays only (segmentation).
        label, type, view: ``N`` strings each.
        dataset_name: stored too, so ``gaitgen evaluate`` can pick the protocol itself.
        arrays: other named arrays the evaluation reads (segmentation's ``pred``, ``mask``),
            stored under their names.

    Returns:
        The path written.
    """
    stored = {}
    if feature is not None:
        if hasattr(feature, "detach"):
            feature = feature.detach().cpu().numpy()
        stored["feature"] = np.asarray(feature)
    stored.update(
        label=_strings(label, "label"), type=_strings(type, "type"), view=_strings(view, "view")
    )
    for name, value in (arrays or {}).items():
        stored[name] = np.asarray(value)
    if dataset_name is not None:
        stored["dataset_name"] = np.asarray(str(dataset_name))
    path = Path(path)
    with atomic_path(path) as temporary:  # temp removed and the old file kept on failure
        with open(temporary, "wb") as handle:
            np.savez(handle, **stored)
    return path


def _file_kind(path: Path) -> str:
    """What a file holds, from its first bytes: ``zip`` (an .npz) or a description."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x93NUMPY"):
        return "a single .npy array"
    if head.startswith(b"\x80"):
        return "a Python pickle, which is never loaded: it could run code"
    if not head:
        return "an empty file"
    return "an unknown format"


def load_embeddings(
    path: str | Path,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read ``(feature, label, type, view)`` from an ``embeddings.npz``; no code can run.

    Raises:
        DataError: the file is missing, not an ``.npz``, holds pickled objects, lacks an
            array, or its arrays disagree in length or shape.
    """
    feature, label, type_, view, _ = load_embeddings_with_name(path)
    return feature, label, type_, view


def _check_finite_rows(path: Path, feature: np.ndarray, strings: dict[str, np.ndarray]) -> None:
    """Refuse rows of ``feature`` holding NaN or inf, naming the first few sequences: their
    distances are NaN, which would rank them anywhere (or end in a bare error later)."""
    bad = np.flatnonzero(~np.isfinite(feature.reshape(len(feature), -1)).all(axis=1))
    if len(bad) == 0:
        return
    shown = "; ".join(
        f"row {i}: {strings['label'][i]} {strings['type'][i]} {strings['view'][i]}" for i in bad[:3]
    )
    more = f"; and {len(bad) - 3} more" if len(bad) > 3 else ""
    raise DataError(
        f"{path}: 'feature' holds NaN or infinite values in {len(bad)} of {len(feature)} rows "
        f"({shown}{more}); extract them again from a finite checkpoint (did training diverge?) "
        "or drop those rows"
    )


def read_arrays(path: Path, required: Sequence[str], holds: str, how: str) -> dict[str, np.ndarray]:
    """The arrays ``required`` (and ``dataset_name`` when present) of an ``.npz``, loaded
    without pickles.

    Args:
        path: the file.
        required: the arrays it must hold.
        holds: the start of the message listing them (``"an embeddings file holds"``).
        how: how to write a good file, for the messages.

    Raises:
        DataError: the file is missing, a folder, not an ``.npz``, damaged, lacks an array or
            holds pickled objects; one message naming the file.
    """
    if path.is_dir():
        raise DataError(f"{path}: is a folder; pass the embeddings.npz written by 'gaitgen test'")
    if not path.is_file():
        raise DataError(f"{path}: no such file; pass the embeddings.npz written by 'gaitgen test'")
    kind = _file_kind(path)
    if kind != "zip":
        raise DataError(
            f"{path}: not an .npz archive of arrays ({kind}); pass the embeddings.npz written "
            f"by 'gaitgen test', or {how}"
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: a damaged .npz archive ({reason}); write it again") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: expected an .npz archive of arrays, found a single array")
    with archive:
        missing = [name for name in required if name not in archive.files]
        if missing:
            segmentation = all(name in archive.files for name in SEGMENTATION_ARRAYS)
            hint = (
                "; a segmentation model's pred and mask are read by "
                "--protocol evaluate_segmentation"
                if segmentation and "feature" in missing
                else ""
            )
            raise DataError(
                f"{path}: missing array(s) {', '.join(missing)}; {holds} "
                f"{', '.join(required)} (found: {', '.join(archive.files) or 'none'}){hint}"
            )
        arrays = {}
        for name in (*required, "dataset_name"):
            if name not in archive.files:
                continue
            try:
                arrays[name] = archive[name]
            except ValueError as exc:
                raise DataError(
                    f"{path}: array {name!r} holds pickled Python objects, which are not "
                    f"loaded (they could run code); save plain numeric/string arrays ({exc})"
                ) from None
    return arrays


def _dataset_name(arrays: dict[str, np.ndarray]) -> str | None:
    name = arrays.get("dataset_name")
    return str(name) if name is not None and name.ndim == 0 else None


def load_embeddings_with_name(
    path: str | Path,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str | None]:
    """Like :func:`load_embeddings`, also returning the stored dataset name (or ``None``)."""
    path = Path(path)
    arrays = read_arrays(
        path,
        REQUIRED_ARRAYS,
        "an embeddings file holds",
        "save yours with numpy.savez(feature=, label=, type=, view=)",
    )
    feature = arrays["feature"]
    if feature.dtype.kind != "f":
        raise DataError(f"{path}: 'feature' must be floating point, got dtype {feature.dtype}")
    if feature.ndim not in (2, 3):
        raise DataError(f"{path}: 'feature' must be [N, c, p] (or [N, c]), got {feature.shape}")
    strings = {}
    for name in ("label", "type", "view"):
        array = arrays[name]
        if array.ndim != 1:
            raise DataError(f"{path}: {name!r} must be 1-D, got shape {array.shape}")
        strings[name] = array.astype(str)
        if len(array) != len(feature):
            raise DataError(
                f"{path}: {name!r} has {len(array)} entries but 'feature' has {len(feature)} rows"
            )
    _check_finite_rows(path, feature, strings)
    dataset_name = _dataset_name(arrays)
    return feature, strings["label"], strings["type"], strings["view"], dataset_name


def load_eval_data(path: str | Path, inputs: str = EMBEDDINGS) -> tuple[EvalData, str | None]:
    """Read what an evaluation function of input kind ``inputs`` needs from an ``.npz``
    (see :data:`~.functions.EvalFunction.inputs`), and the stored dataset name.

    ``embeddings``: ``feature``, ``label``, ``type``, ``view``; ``segmentation``: ``pred``
    and ``mask`` (float ``[frames, 1, H, W]``, one shape, finite; the sequence names when
    present).

    Raises:
        DataError: as :func:`load_embeddings_with_name`; for segmentation, a missing array or
            one of the wrong type, shape or values, one message naming the file.
    """
    if inputs == EMBEDDINGS:
        feature, label, type_, view, dataset_name = load_embeddings_with_name(path)
        return EvalData(feature, label, type_, view), dataset_name
    if inputs != SEGMENTATION:
        raise DataError(f"{path}: no reader for evaluation inputs of kind {inputs!r}")
    path = Path(path)
    arrays = read_arrays(
        path,
        SEGMENTATION_ARRAYS,
        "a segmentation file holds",
        "save yours with numpy.savez(pred=, mask=) ([frames, 1, H, W] each)",
    )
    pred, mask = (arrays[name] for name in SEGMENTATION_ARRAYS)
    for name, array in zip(SEGMENTATION_ARRAYS, (pred, mask)):
        if array.dtype.kind != "f":
            raise DataError(f"{path}: {name!r} must be floating point, got dtype {array.dtype}")
        if array.ndim != 4 or array.shape[1] != 1:
            raise DataError(f"{path}: {name!r} must be [frames, 1, H, W], got {array.shape}")
    if pred.shape != mask.shape:
        raise DataError(
            f"{path}: 'pred' {pred.shape} and 'mask' {mask.shape} must have one shape "
            "(a mask for every predicted frame)"
        )
    for name, array in zip(SEGMENTATION_ARRAYS, (pred, mask)):
        if not np.isfinite(array).all():
            raise DataError(f"{path}: {name!r} holds NaN or infinite values")
    data = EvalData(arrays={"pred": pred, "mask": mask})
    return data, _dataset_name(arrays)
