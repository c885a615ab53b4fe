"""Write a SynthGait dataset in OpenGait's layout, atomically and reproducibly.

``<root>/<id>/<type>/<view>/<view>.pkl`` holds one uint8 array ``[t, 64, 64]`` pickled with
protocol 4 (nothing else, so a safe unpickler that allows numpy arrays reads it), and
``<root>/partition.json`` the split.

With other modalities (``modalities=``, ``gaitgen synth --modalities``), each sequence folder
holds one file per modality, every one with the same frame count, named so that their sorted
order is the order OpenGait's configs of each family expect (OpenGait loads the sorted
``.pkl`` files of a folder and ``data_cfg.data_in_use`` picks among them)::

    0_heatmap.pkl   skeleton maps, uint8 [t, 2, 64, 64] (channel 0 limbs, 1 joints)
    0_parsing.pkl   human parsing, uint8 [t, 64, 64], Gait3D-Parsing's labels 0..11
    1_sil.pkl       silhouettes, uint8 [t, 64, 64]
    2_smpl.pkl      SMPL-like parameters, float32 [t, 85] (camera 3, pose 72, shape 10)
    3_pose.pkl      2-D pose, float64 [t, V, 3] (x, y in pixels, confidence); V = 17 or 18

So ``silhouette,skeleton`` gives OpenGait's SkeletonGait++ layout (``0_heatmap.pkl``,
``1_sil.pkl``: ``data_in_use: [True, True]``; SkeletonGait: ``[True, False]``);
``silhouette,smpl`` SMPLGait's (silhouettes, then SMPL: ``[true, true]``);
``parsing,silhouette,smpl`` SMPLGait's Gait3D-Parsing config (``[true, false, true]``);
``parsing`` alone ParsingGait's; ``pose`` alone the pose models'. A folder with more
modalities than a config's family needs takes a ``data_in_use`` with one flag per file. The dataset is built in a hidden folder beside
``root`` and renamed into place at the end: an interrupted run leaves no half-written
dataset behind under ``root``. Each subject is one task, so ``workers > 1`` gives the same
bytes as one worker.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text, disk_error, folder_lock
from ..errors import DataError
from .generator import DatasetGenerator
from .layouts import (
    DEFAULT_LAYOUT,
    LAYOUTS,
    SubjectPlan,
    get_layout,
    layout_partition,
    plan_subjects,
    probe_identities,
    sequence_count,
)
from .partition import train_subject_count
from .progress import ProgressBar
from .spec import (
    DEFAULT_FRAMES,
    DEFAULT_SUBJECTS,
    check_count,
    check_disk_space,
    check_pose_format,
    parse_modalities,
    parse_views,
    sequence_file,
    subject_ids,
)

PARTITION_FILE = "partition.json"
#: GREW/HID layouts: who each hidden probe is ({video id: subject}); OpenGait reads no such
#: file (the real test sets keep it secret): it scores a submission file on SynthGait
PROBE_IDENTITY_FILE = "probe_identity.json"


def _write_subject(task: tuple) -> str:
    """Generate and write every sequence of one subject (runs in a worker process).

    ``task``: the hidden folder written, the dataset root it becomes (for messages), then
    the subject's plan (:class:`.layouts.SubjectPlan`), the seed, frames, modalities and
    pose format.
    """
    import numpy as np

    from .sequence import posture_lean, subject_modalities

    folder, root, plan, seed, frames, modalities, pose_format = task
    sequences = subject_modalities(
        seed,
        plan.number,
        (),
        frames,
        modalities=modalities,
        pose_format=pose_format,
        recordings=plan.recordings,
        lateral_lean=posture_lean(seed, plan.number, *plan.lean),
    )
    for label, recording in zip(plan.labels, plan.recordings):
        arrays = sequences[(recording.type, recording.view)]
        view = recording.view
        for modality in modalities:
            relative = Path(label, recording.type, view, sequence_file(modality, modalities, view))
            try:
                (folder / relative).parent.mkdir(parents=True, exist_ok=True)
                with open(folder / relative, "wb") as handle:
                    pickle.dump(np.ascontiguousarray(arrays[modality]), handle, protocol=4)
            except OSError as exc:  # a full disk names the file as it would be in the dataset
                raise (disk_error(exc, root / relative) or exc) from exc
    return plan.name


def _run_tasks(tasks: list, workers: int) -> Iterator[str]:
    if workers == 1 or len(tasks) <= 1:
        yield from map(_write_subject, tasks)
        return
    # spawn, not fork: the caller may be a training process with threads (torch, loaders)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    try:
        yield from pool.map(_write_subject, tasks)
    finally:  # stopped (Ctrl-C, SIGTERM): the subjects not started are not written
        pool.shutdown(wait=True, cancel_futures=True)


def _write_json_atomically(path: Path, content: dict) -> None:
    atomic_write_text(path, json.dumps(content, indent=2) + "\n")


@contextlib.contextmanager
def _generating(root: Path) -> Iterator[None]:
    """One generator at a time beside ``root``; what a killed one left is removed.

    The lock is a ``flock`` on the parent folder (no lock file is left behind): a second
    generator of the same folder waits, then finds the first one's dataset. Under the lock,
    the ``.<name>.*.partial`` and ``.old`` folders of ``root`` belong to no live generator.
    """
    root.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(root.parent):
        name = glob.escape(root.name)
        for stale in (*root.parent.glob(f".{name}.*.partial"), *root.parent.glob(f".{name}.*.old")):
            shutil.rmtree(stale, ignore_errors=True)
        yield


def _check_target(root: Path, overwrite: bool) -> None:
    if root.exists() and not root.is_dir():
        raise DataError(f"synthgait: {root} exists and is not a folder; choose another output path")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise DataError(
            f"synthgait: {root} already exists and is not empty; choose a new folder, or "
            "overwrite it (gaitgen synth --force, or overwrite=True)"
        )


def _move_into_place(built: Path, root: Path, overwrite: bool) -> None:
    """Rename the finished folder to ``root``, replacing an old ``root`` only at the end.

    If another process finished the same dataset first (two nodes sharing a file system),
    its copy is kept: for one seed both hold the same bytes.
    """
    old = None
    if root.is_dir():
        if not any(root.iterdir()):
            root.rmdir()
        elif overwrite:
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".old", dir=root.parent))
            os.rename(root, old / "dataset")
    try:
        os.rename(built, root)
    except OSError:
        if overwrite or not root.is_dir() or not any(root.iterdir()):
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def generate_dataset(
    root: Path | str,
    *,
    subjects: int = DEFAULT_SUBJECTS,
    views: Sequence[str] | str | None = None,
    frames: int = DEFAULT_FRAMES,
    seed: int = 0,
    workers: int = 1,
    partition_path: Path | str | None = None,
    progress: bool = False,
    overwrite: bool = False,
    modalities: Sequence[str] | str | None = None,
    pose_format: str = "coco",
    layout: str | None = None,
) -> Path:
    """Generate a SynthGait dataset under ``root`` and return the partition file's path.

    ``data_cfg.synthetic: {generator: synthgait, ...}`` reaches it through :class:`SynthGait`.

    Args:
        root: dataset folder to create; must not exist or be empty unless ``overwrite``.
        subjects: number of identities; the first ``round(0.6 * subjects)`` train.
        views: 3-digit view angles (or a comma-separated string); ``None`` for CASIA-B's 11.
        frames: frames per sequence.
        seed: dataset seed; the same seed gives the same bytes.
        workers: processes generating subjects in parallel (same bytes for any number).
        partition_path: where to write the partition JSON; default ``root/partition.json``.
        progress: draw a progress bar on stderr.
        overwrite: replace an existing non-empty ``root`` (only once the new one is complete).
        modalities: what to write (``"silhouette,pose,skeleton,parsing,smpl"`` or ``"all"``,
            or a sequence of names); ``None`` for the silhouettes only, as ``<view>.pkl``.
        pose_format: joint order of the pose (and of the poses the skeleton maps come
            from): ``"coco"`` (17) or ``"openpose"`` (OpenPose/AlphaPose's 18).
        layout: which evaluation's naming and partition to write (:data:`.layouts.LAYOUTS`:
            ``casia-b``, ``oumvlp``, ``ccpg``, ``grew``, ``hid``, ``gait3d``, ``freegait``,
            ``ccgr-mini``, ``scoliosis``); ``None``: CASIA-B's.

    Returns:
        The path of the partition JSON.

    Raises:
        DataError: a count, view, modality, pose format, layout or path is invalid, or
            ``root`` is in the way; views given to a layout whose views are not angles.
    """
    check_count("subjects", subjects)
    check_count("frames", frames)
    check_count("workers", workers)
    check_count("seed", seed, minimum=0)
    chosen = get_layout(layout, "layout")
    if views is not None and not chosen.views:
        raise DataError(
            f"synthgait: the {chosen.name} layout names its own views; views (--views) apply "
            f"to the layouts whose views are angles ({', '.join(angle_layouts())}); leave it out"
        )
    view_names = None if views is None else parse_views(views)
    contents = (parse_modalities(modalities), check_pose_format(pose_format))
    root = Path(root).expanduser().absolute()
    train_count = train_subject_count(subjects)
    if chosen.name == DEFAULT_LAYOUT:  # the message CASIA-B's datasets always gave
        views_count = len(view_names or chosen.views)
        check_disk_space(root.parent, subjects, views_count, frames, contents[0])
    else:
        sequences = sequence_count(chosen, subjects, train_count, view_names)
        check_disk_space(root.parent, subjects, 0, frames, contents[0], sequences=sequences)
    plans = plan_subjects(chosen, subject_ids(subjects), train_count, seed, view_names)
    with _generating(root):
        return _generate(
            root, partition_path, plans, frames, seed, workers, progress, overwrite, contents
        )


def angle_layouts() -> list[str]:
    """The layouts whose views are camera angles (``--views`` picks among any angles)."""
    return [name for name, layout in LAYOUTS.items() if layout.views]


def _generate(
    root: Path,
    partition_path: Path | str | None,
    plans: list[SubjectPlan],
    frames: int,
    seed: int,
    workers: int,
    progress: bool,
    overwrite: bool,
    contents: tuple[tuple[str, ...], str],
) -> Path:
    """:func:`generate_dataset` once its arguments are checked, under the lock;
    ``contents`` is ``(modalities, pose_format)``."""
    _check_target(root, overwrite)
    partition_file = (
        root / PARTITION_FILE if partition_path is None else Path(partition_path).absolute()
    )
    partition_inside = partition_file.parent == root

    built = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".partial", dir=root.parent))
    try:
        tasks = [(built, root, plan, seed, frames, *contents) for plan in plans]
        bar = ProgressBar(len(tasks), "synthgait", "subjects") if progress else None
        for _ in _run_tasks(tasks, workers):
            if bar is not None:
                bar.advance()
        if bar is not None:
            bar.close()
        partition = layout_partition(plans)
        if partition_inside:
            _write_json_atomically(built / partition_file.name, partition)
        hidden = probe_identities(plans)
        if hidden:
            _write_json_atomically(built / PROBE_IDENTITY_FILE, hidden)
        _move_into_place(built, root, overwrite)
    finally:
        if built.exists():
            shutil.rmtree(built, ignore_errors=True)
    if not partition_inside:
        _write_json_atomically(partition_file, partition)
    return partition_file


class SynthGait(DatasetGenerator):
    """SynthGait, the walking-figure dataset of ``gaitgen synth`` (``generator: synthgait``).

    Args:
        subjects: number of identities; the first ``round(0.6 * subjects)`` train.
        views: 3-digit view angles (or a comma-separated string); ``None`` for CASIA-B's 11.
        frames: frames per sequence.
        seed: dataset seed; the same seed gives the same bytes.
        workers: processes generating subjects in parallel (same bytes for any number).
        modalities: what to write (see :func:`generate_dataset`); the silhouettes if None.
        pose_format: ``coco`` or ``openpose``.
        layout: which evaluation's naming and partition (see :func:`generate_dataset`).
    """

    def __init__(
        self,
        subjects: int = DEFAULT_SUBJECTS,
        views: Sequence[str] | str | None = None,
        frames: int = DEFAULT_FRAMES,
        seed: int = 0,
        workers: int = 1,
        modalities: Sequence[str] | str | None = None,
        pose_format: str = "coco",
        layout: str | None = None,
    ) -> None:
        self.options = dict(subjects=subjects, views=views, frames=frames, seed=seed)
        self.options.update(workers=workers, modalities=modalities, pose_format=pose_format)
        self.options.update(layout=layout)

    def generate(self, root: Path, partition_path: Path) -> Path:
        return generate_dataset(root, partition_path=partition_path, **self.options)

    def cache_settings(self) -> dict[str, Any]:
        """The options but ``workers`` (any number gives the same bytes), spelt one way."""
        settings = {k: v for k, v in self.options.items() if k != "workers"}
        if settings["views"] is not None:
            settings["views"] = list(parse_views(settings["views"]))
        settings["modalities"] = list(parse_modalities(settings["modalities"]))
        settings["layout"] = get_layout(settings["layout"], "layout").name
        return settings

    def source_files(self) -> list[Path]:
        """Every module of the SynthGait package: they all shape what is drawn."""
        return sorted(Path(__file__).parent.glob("*.py"))
