"""What a SynthGait dataset contains: conditions, views, defaults, and checks of user input.

This module imports nothing heavy (no numpy), so the CLI and the code generator can use it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import DataError

#: identities in the default demo dataset (the first 60% train, the rest test)
DEFAULT_SUBJECTS = 40
#: frames per sequence in the default demo dataset (about 1.2 gait cycles at 25 fps)
DEFAULT_FRAMES = 32
#: silhouette side length in pixels, as OpenGait's pretreatment writes them
IMAGE_SIZE = 64

#: CASIA-B's walking conditions: normal, carrying a bag, wearing a coat
CONDITIONS: tuple[str, ...] = (
    "nm-01",
    "nm-02",
    "nm-03",
    "nm-04",
    "nm-05",
    "nm-06",
    "bg-01",
    "bg-02",
    "cl-01",
    "cl-02",
)
#: CASIA-B's camera angles, 0 (walking towards the camera) to 180 (walking away)
DEFAULT_VIEWS: tuple[str, ...] = tuple(f"{angle:03d}" for angle in range(0, 181, 18))

#: what ``--modalities`` can name, and the file each is written to in a sequence folder
#: when more than the silhouettes are written (see :mod:`.writer`); sorted by file name
MODALITY_FILES = {
    "skeleton": "0_heatmap.pkl",
    "parsing": "0_parsing.pkl",
    "silhouette": "1_sil.pkl",
    "smpl": "2_smpl.pkl",
    "pose": "3_pose.pkl",
}
MODALITIES: tuple[str, ...] = ("silhouette", "pose", "skeleton", "parsing", "smpl")
DEFAULT_MODALITIES: tuple[str, ...] = ("silhouette",)
#: joints per frame of each ``--pose-format``
POSE_FORMATS = {"coco": 17, "openpose": 18}


def subject_ids(subjects: int) -> list[str]:
    """Return the zero-padded identity names ``"001"``, ``"002"``, ... for ``subjects`` ids."""
    width = max(3, len(str(subjects)))
    return [f"{index:0{width}d}" for index in range(1, subjects + 1)]


# the largest counts a machine can hold (OU-MVLP, the largest gait set, has 10,307 subjects;
# real walks are a few hundred frames); the disk space a dataset needs is checked on its own
MAXIMUM = {"subjects": 100_000, "frames": 10_000, "workers": 1_024, "seed": 2**63 - 1}


def check_count(name: str, value: int, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer in ``[minimum, MAXIMUM[name]]``, else raise a
    DataError naming it (``name`` as the user wrote it: ``--subjects`` or ``subjects``)."""
    maximum = MAXIMUM.get(name.lstrip("-"))
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        within = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum:,}"
        raise DataError(
            f"synthgait: '{name}' must be an integer {within}, got {value!r}; "
            f"pass e.g. {name}={max(minimum, 2)}"
        )
    return value


def frame_bytes(modalities: Iterable[str] = DEFAULT_MODALITIES) -> int:
    """Bytes per frame of one sequence holding ``modalities``."""
    pixels = IMAGE_SIZE * IMAGE_SIZE
    sizes = {
        "silhouette": pixels,
        "parsing": pixels,
        "skeleton": 2 * pixels,
        "smpl": 85 * 4,
        "pose": max(POSE_FORMATS.values()) * 3 * 8,
    }
    return sum(sizes[name] for name in modalities)


def check_disk_space(
    folder: Path,
    subjects: int,
    views: int,
    frames: int,
    modalities: Iterable[str] = DEFAULT_MODALITIES,
    sequences: int | None = None,
) -> None:
    """Raise a DataError, before any work, when the dataset cannot fit on ``folder``'s disk.

    Each walk is ``frames`` frames of :func:`frame_bytes` (silhouettes: uint8 ``IMAGE_SIZE``
    x ``IMAGE_SIZE``); there are ``subjects x views x`` CASIA-B's conditions of them, or
    ``sequences`` in all when a layout (:mod:`.layouts`) says how many.
    """
    count = subjects * views * len(CONDITIONS) if sequences is None else sequences
    needed = count * frames * frame_bytes(modalities)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if needed > free:
        shape = (
            f"{subjects:,} subjects x {views} views x {len(CONDITIONS)} walks"
            if sequences is None
            else f"{subjects:,} subjects' {sequences:,} sequences"
        )
        raise DataError(
            f"synthgait: {shape} x {frames:,} frames need {needed / 1e9:,.1f} GB, but {existing} has "
            f"{free / 1e9:,.1f} GB free; lower --subjects or --frames"
        )


def parse_views(views: str | Iterable[str | int] | None) -> tuple[str, ...]:
    """Normalise a view list to CASIA-B's 3-digit angle names.

    Args:
        views: ``None`` for the 11 CASIA-B views; a comma-separated string such as
            ``"000,090"``; or a sequence of angle names or integers (degrees, 0 to 359).

    Returns:
        The views as 3-digit strings (``"000"``, ``"090"``), in the order given.

    Raises:
        DataError: a view is not an angle in degrees, is out of range, or is repeated.
    """
    if views is None:
        return DEFAULT_VIEWS
    items: Sequence[str | int]
    if isinstance(views, str):
        items = [item.strip() for item in views.split(",") if item.strip()]
    else:
        items = list(views)
    if not items:
        raise DataError("synthgait: the view list is empty; give angles such as 000,090,180")
    parsed: list[str] = []
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit() or not 0 <= int(text) < 360:
            raise DataError(
                f"synthgait: unknown view {item!r}; a view is an angle in degrees from 000 to "
                "359, written as digits (CASIA-B uses 000,018,...,180)"
            )
        name = f"{int(text):03d}"
        if name in parsed:
            raise DataError(f"synthgait: view {name} is listed twice; list each view once")
        parsed.append(name)
    return tuple(parsed)


def parse_modalities(modalities: str | Iterable[str] | None) -> tuple[str, ...]:
    """Normalise a modality list: ``None`` for the silhouettes only, ``"all"`` for every one.

    Args:
        modalities: a comma-separated string such as ``"silhouette,skeleton"`` or ``"all"``,
            or a sequence of names from :data:`MODALITIES`.

    Returns:
        The modalities in :data:`MODALITIES`'s order, each once.

    Raises:
        DataError: a name is unknown or repeated, or the list is empty.
    """
    if modalities is None:
        return DEFAULT_MODALITIES
    if isinstance(modalities, str):
        items = [item.strip() for item in modalities.split(",") if item.strip()]
    else:
        items = [str(item).strip() for item in modalities]
    if items == ["all"]:
        return MODALITIES
    if not items:
        raise DataError(
            f"synthgait: the modality list is empty; give some of {','.join(MODALITIES)} or all"
        )
    for item in items:
        if item not in MODALITIES:
            raise DataError(
                f"synthgait: unknown modality {item!r}; choose from {','.join(MODALITIES)} "
                "or all, e.g. --modalities silhouette,skeleton"
            )
        if items.count(item) > 1:
            raise DataError(f"synthgait: modality {item} is listed twice; list each once")
    return tuple(name for name in MODALITIES if name in items)


def check_pose_format(pose_format: str) -> str:
    """Return ``pose_format`` if it is a key of :data:`POSE_FORMATS`, else raise a DataError."""
    if pose_format not in POSE_FORMATS:
        raise DataError(
            f"synthgait: unknown pose format {pose_format!r}; choose coco (COCO-17) or "
            "openpose (the 18 joints of OpenPose/AlphaPose)"
        )
    return pose_format


def sequence_file(modality: str, modalities: tuple[str, ...], view: str) -> str:
    """The file name of ``modality`` in a sequence folder holding ``modalities``.

    Silhouettes alone keep CASIA-B's ``<view>.pkl``; otherwise :data:`MODALITY_FILES`.
    """
    if modalities == ("silhouette",):
        return f"{view}.pkl"
    return MODALITY_FILES[modality]
