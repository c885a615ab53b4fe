"""A tiny, fast synthetic gait dataset for tests and first runs (seconds to make).

Each identity is a 2-D stick-and-ellipse walker with its own height, build, stride, cadence
and arm swing; a bag (``bg``) adds a blob at the hip, a coat (``cl``) widens the torso and
thighs; the view angle squeezes the figure horizontally. It is learnable on a CPU in a few
dozen iterations, which is all it is for: ``gaitgen synth`` (SynthGait) is the realistic one.
Written in OpenGait's layout, ``<root>/<id>/<type>/<view>/<view>.pkl`` (uint8 [T, 64, 64]),
with a partition JSON.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .synth.generator import DatasetGenerator

TYPES = ("nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "nm-06", "bg-01", "bg-02", "cl-01", "cl-02")
DEFAULT_VIEWS = ("000", "090", "180")
SIZE = 64


def _capsules(
    canvas_y: np.ndarray,
    canvas_x: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    radius: np.ndarray,
) -> np.ndarray:
    """Mask of the union of capsules (segments with a radius), per frame.

    starts/ends [T, k, 2] (y, x), radius [k] -> [T, H, W] bool.
    """
    p = np.stack([canvas_y, canvas_x], -1)[None, None]  # [1, 1, H, W, 2]
    a = starts[:, :, None, None, :]  # [T, k, 1, 1, 2]
    b = ends[:, :, None, None, :]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-6), 0, 1)
    closest = a + t[..., None] * ab
    dist = np.sqrt(((p - closest) ** 2).sum(-1))  # [T, k, H, W]
    return (dist <= radius[None, :, None, None]).any(1)


def render_sequence(
    identity: np.random.Generator,
    sequence: np.random.Generator,
    condition: str,
    view: float,
    frames: int,
) -> np.ndarray:
    """One walking sequence as uint8 [frames, 64, 64] (0 or 255)."""
    height = identity.uniform(40, 56)
    build = identity.uniform(0.7, 1.3)
    stride = identity.uniform(0.35, 0.75)
    cadence = identity.uniform(0.18, 0.32)  # radians of gait phase per frame
    arm_swing = identity.uniform(0.2, 0.8)
    lean = identity.uniform(-0.15, 0.15)
    squeeze = 0.55 + 0.45 * abs(np.cos(np.deg2rad(view)))  # side views show the stride fully
    phase = sequence.uniform(0, 2 * np.pi) + cadence * np.arange(frames)  # [T]

    top = (SIZE - height) / 2
    hip = np.array([top + 0.55 * height, SIZE / 2])
    shoulder = np.array([top + 0.22 * height, SIZE / 2 + lean * height * 0.3])
    leg = 0.45 * height
    arm = 0.33 * height

    def limb(origin: np.ndarray, length: float, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = np.broadcast_to(origin, (frames, 2))
        end = np.stack(
            [origin[0] + length * np.cos(angle), origin[1] + squeeze * length * np.sin(angle)], -1
        )
        return start, end

    swing = stride * np.sin(phase)
    parts = [
        limb(hip, leg, swing),
        limb(hip, leg, -swing),  # legs
        limb(shoulder, arm, -arm_swing * np.sin(phase)),
        limb(shoulder, arm, arm_swing * np.sin(phase)),
        (np.broadcast_to(shoulder, (frames, 2)), np.broadcast_to(hip, (frames, 2))),  # torso
    ]
    radius = [2.2 * build, 2.2 * build, 1.6 * build, 1.6 * build, 4.5 * build * squeeze + 1.0]
    head = shoulder - np.array([0.1 * height, 0])
    parts.append((np.broadcast_to(head, (frames, 2)), np.broadcast_to(head, (frames, 2))))
    radius.append(0.09 * height)
    if condition == "bg":
        bag = hip + np.array([-0.05 * height, 5.0 * squeeze + 3])
        parts.append(
            (np.broadcast_to(bag, (frames, 2)), np.broadcast_to(bag + [6, 0], (frames, 2)))
        )
        radius.append(4.0)
    if condition == "cl":
        radius[4] += 2.5
        coat_end = hip + np.array([0.2 * height, 0])
        parts.append((np.broadcast_to(hip, (frames, 2)), np.broadcast_to(coat_end, (frames, 2))))
        radius.append(5.0 * build)
    starts = np.stack([s for s, _ in parts], 1)  # [T, k, 2]
    ends = np.stack([e for _, e in parts], 1)
    jitter = sequence.normal(0, 0.6, size=(frames, 1, 2))
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    mask = _capsules(yy, xx, starts + jitter, ends + jitter, np.asarray(radius))
    return (mask * 255).astype(np.uint8)


def generate_dataset(
    root: Path | str,
    *,
    subjects: int = 10,
    frames: int = 20,
    views: Sequence[str] | None = None,
    seed: int = 0,
    partition_path: Path | str | None = None,
) -> Path:
    """Write the tiny dataset under ``root`` and return the partition file.

    The first ``round(0.6 * subjects)`` ids train, the rest test. The dataset is written to
    a temporary folder beside ``root`` and renamed into place, so it is complete or absent.
    """
    root = Path(root)
    if subjects < 2 or frames < 1:
        raise DataError(
            f"tiny dataset: need subjects >= 2 and frames >= 1 (got {subjects}, {frames})"
        )
    views = tuple(views) if views is not None else DEFAULT_VIEWS
    partition_path = Path(partition_path) if partition_path is not None else root / "partition.json"
    if root.exists() and any(root.iterdir()):
        raise DataError(
            f"{root} already exists and is not empty; delete it or choose another folder"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        ids = [f"{i + 1:03d}" for i in range(subjects)]
        for index, subject in enumerate(ids):
            identity_seed = np.random.SeedSequence([seed, index])
            for type_index, type_name in enumerate(TYPES):
                for view in views:
                    identity = np.random.default_rng(identity_seed)  # same walker every time
                    sequence = np.random.default_rng([seed, index, type_index, int(view)])
                    sils = render_sequence(identity, sequence, type_name[:2], float(view), frames)
                    folder = staging / subject / type_name / view
                    folder.mkdir(parents=True)
                    with open(folder / f"{view}.pkl", "wb") as handle:
                        pickle.dump(sils, handle, protocol=4)
        train = ids[: int(round(0.6 * subjects))]
        partition = {"TRAIN_SET": train, "TEST_SET": ids[len(train) :]}
        inside = partition_path.resolve().parent == root.resolve()
        target = staging / partition_path.name if inside else partition_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(partition, indent=2), encoding="utf-8")
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return partition_path


class Tiny(DatasetGenerator):
    """The tiny capsule-figure dataset of the tests (``generator: tiny``).

    Args:
        subjects: number of identities (at least 2); the first 60% train.
        frames: frames per sequence.
        views: view names; ``None`` for the default ones.
        seed: dataset seed.
    """

    def __init__(
        self,
        subjects: int = 10,
        frames: int = 20,
        views: Sequence[str] | None = None,
        seed: int = 0,
    ) -> None:
        self.options = dict(subjects=subjects, frames=frames, views=views, seed=seed)

    def generate(self, root: Path, partition_path: Path) -> Path:
        return generate_dataset(root, partition_path=partition_path, **self.options)

    def cache_settings(self) -> dict[str, Any]:
        """The options: the same ones give the same bytes."""
        views = self.options["views"]
        return {**self.options, "views": None if views is None else list(views)}
