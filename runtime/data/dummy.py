"""Write random datasets in OpenGait's layout, for tests and benchmarks of the data layer.

The frames are noise (not learnable); the synthetic-data writer elsewhere makes learnable
ones. Sizes are chosen by the caller.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_dummy_dataset(
    root: str | Path,
    ids: Sequence[str],
    types: Sequence[str] = ("nm-01",),
    views: Sequence[str] = ("000",),
    frames: tuple[int, int] = (8, 12),
    size: tuple[int, int] = (16, 16),
    train_ids: Sequence[str] | None = None,
    suffix: str = ".pkl",
    modalities: int = 1,
    seed: int = 0,
) -> Path:
    """Write ``root/<id>/<type>/<view>/`` sequences of uint8 noise and ``root/partition.json``.

    Args:
        root: the dataset folder (created).
        ids: identity folder names.
        types: type (condition) folder names per identity.
        views: view folder names per type.
        frames: inclusive range of frame counts, drawn per sequence.
        size: frame height and width.
        train_ids: ids of TRAIN_SET (default: the first half); the rest form TEST_SET.
        suffix: ``.pkl``, ``.npy`` or ``.npz``.
        modalities: files per sequence (named ``0-<view><suffix>``, ``1-...``).
        seed: numpy seed.

    Returns:
        The partition file's path (``root/partition.json``).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for label in ids:
        for seq_type in types:
            for view in views:
                folder = root / label / seq_type / view
                folder.mkdir(parents=True, exist_ok=True)
                count = int(rng.integers(frames[0], frames[1] + 1))
                for m in range(modalities):
                    array = rng.integers(0, 256, (count, *size), dtype=np.uint8)  # [T, h, w]
                    name = f"{m}-{view}{suffix}" if modalities > 1 else f"{view}{suffix}"
                    _save(folder / name, array)
    train = list(train_ids) if train_ids is not None else list(ids[: max(1, len(ids) // 2)])
    test = [i for i in ids if i not in train]
    partition = root / "partition.json"
    partition.write_text(json.dumps({"TRAIN_SET": train, "TEST_SET": test}, indent=1))
    return partition


def _save(path: Path, array: np.ndarray) -> None:
    if path.suffix == ".pkl":
        with open(path, "wb") as file:
            pickle.dump(array, file, protocol=4)
    elif path.suffix == ".npy":
        np.save(path, array)
    elif path.suffix == ".npz":
        np.savez(path, array)
    else:
        raise ValueError(f"unsupported suffix {path.suffix}")
