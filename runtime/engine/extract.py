"""``gaitgen extract``: embeddings of every sequence of a dataset with a trained checkpoint.

The sequences are found in one of three layouts under ``ROOT``:

- with a partition file: the ``TEST_SET`` ids of OpenGait's ``<id>/<type>/<view>/`` layout;
- without one, OpenGait's layout: every ``<id>/<type>/<view>/`` folder;
- a flat folder: ``ROOT/<name>/`` folders (one sequence each, its files the modalities) or
  ``ROOT/<name>.pkl`` files (one sequence each); the label is ``<name>``, type and view
  are ``-``.

The model embeds them exactly as the test phase does (:func:`.tester.embed_test_set`: the
config's ``evaluator_cfg`` sampler and transforms, whole sequences), and the result is
written as ``gaitgen test``'s ``embeddings.npz`` (``feature``, ``label``, ``type``,
``view``), atomically. Without a partition, the layout is presented to the dataset through
a temporary folder of symbolic links and a temporary partition listing every id.

    result = extract_embeddings("configs/baseline.yaml", "data/mine", out="feats.npz")
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write_text, check_output_path
from ..config.schema import test_data_cfg
from ..data.io import SUPPORTED_SUFFIXES
from ..distributed import DistContext, choose_device
from ..errors import DataError
from .build import build_model
from .run import Run, load_run

FLAT_PLACEHOLDER = "-"  # type and view of sequences found in a flat folder


@dataclass
class ExtractResult:
    """What :func:`extract_embeddings` wrote."""

    path: Path
    sequences: int
    feature_shape: tuple[int, ...]
    layout: str
    iteration: int


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _is_sequence_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES


def detect_layout(root: Path) -> str:
    """``"opengait"``, ``"flat-files"`` or ``"flat-folders"``; DataError when none fits.

    Beside folders, files that are not sequences (a partition JSON, a preview) are ignored.
    """
    if not root.is_dir():
        raise DataError(f"--data: {root} is not a folder; give the dataset folder")
    entries = _visible(root)
    files = [p for p in entries if _is_sequence_file(p)]
    folders = [p for p in entries if p.is_dir()]
    if files and folders:
        raise DataError(
            f"--data: {root} holds both sequence files ({files[0].name}) and folders "
            f"({folders[0].name}); give one sequence per file, one per folder, or OpenGait's "
            "<id>/<type>/<view>/"
        )
    if files:
        others = [p.name for p in entries if p.is_file() and not _is_sequence_file(p)]
        if others:
            raise DataError(
                f"--data: {root / others[0]}: not a sequence file "
                f"({', '.join(SUPPORTED_SUFFIXES)}); move other files out of the folder"
            )
        return "flat-files"
    if not folders:
        raise DataError(f"--data: {root} holds no sequence ({', '.join(SUPPORTED_SUFFIXES)})")
    if any(_is_sequence_file(p) for p in _visible(folders[0])):
        return "flat-folders"
    return "opengait"


def _stage_flat(root: Path, layout: str, staging: Path) -> tuple[list[str], dict[str, Path]]:
    """Links ``staging/<name>/-/-/`` to each sequence of a flat folder.

    Returns:
        The names (ids), and the user's path of each staged path by its text
        (``staging/<name>/-/-``, for files also the link in it, and ``staging`` itself), so
        an error about a staged path can name the user's file instead.
    """
    names = []
    staged: dict[str, Path] = {str(staging): root}
    keep = _is_sequence_file if layout == "flat-files" else Path.is_dir
    for entry in filter(keep, _visible(root)):
        name = entry.stem if layout == "flat-files" else entry.name
        target = staging / name / FLAT_PLACEHOLDER
        target.mkdir(parents=True, exist_ok=layout == "flat-files")
        link = target / FLAT_PLACEHOLDER
        try:
            if layout == "flat-files":
                link.mkdir(exist_ok=True)
                if any(link.iterdir()):
                    raise DataError(f"--data: two sequences of {root} are called {name!r}")
                os.symlink(entry.resolve(), link / entry.name)
                staged[str(link / entry.name)] = entry
            else:
                os.symlink(entry.resolve(), link, target_is_directory=True)
        except OSError as exc:
            raise DataError(
                f"--data: cannot link {entry} into a temporary folder ({exc}); use OpenGait's "
                "<id>/<type>/<view>/ layout instead of a flat folder"
            ) from None
        staged[str(link)] = entry
        names.append(name)
    return names, staged


def _name_user_files(message: str, staged: dict[str, Path]) -> str:
    """``message`` with every staged (temporary, soon deleted) path replaced by the user's."""
    for path in sorted(staged, key=len, reverse=True):  # a file's link before its folder's
        if path in message:
            message = message.replace(path, str(staged[path]))
    return message


def _point_run_at(run: Run, root: Path, partition: Path) -> None:
    """Make the run's test set the given data (no synthetic generation, no other root)."""
    data_cfg = test_data_cfg(run.cfgs)
    data_cfg["dataset_root"] = str(root)
    data_cfg["dataset_partition"] = str(partition)
    data_cfg["synthetic"] = None


def extract_embeddings(
    config_path: Path | str,
    data_root: Path | str,
    partition: Path | str | None = None,
    out: Path | str = "feats.npz",
    iteration: int | None = None,
    overrides: list[str] | None = None,
    device: str | None = None,
) -> ExtractResult:
    """Embed every sequence under ``data_root`` with the config's trained model.

    Args:
        config_path: the config the model was trained with.
        data_root: the dataset folder (see the module docstring for its layouts).
        partition: a partition JSON; its TEST_SET is embedded.
        out: the ``.npz`` file to write.
        iteration: the checkpoint's iteration (default: ``evaluator_cfg.restore_hint``, or
            the latest checkpoint of the run).
        overrides: ``--set`` overrides (``evaluator_cfg.restore_hint=/path/to.pt`` picks a
            checkpoint file).
        device: ``cpu`` or ``cuda`` (default: CUDA when available).

    Raises:
        DataError, CheckpointError, ConfigError: one line naming the file or key.
    """
    import torch

    from ..components import using_project
    from ..evaluation.embeddings import save_embeddings
    from .tester import embed_test_set, restore_for_test

    out_path = Path(out)
    check_output_path("--out", out_path, example="feats.npz")
    root = Path(data_root).expanduser().resolve()
    layout = "partition" if partition is not None else detect_layout(root)
    run = load_run(config_path, overrides)
    ctx = DistContext(device=choose_device(device))
    torch.manual_seed(0)
    model = build_model(run.cfgs, run.project, is_training=False).to(ctx.device)
    restored = restore_for_test(run, model, iteration)  # before any data work: fail early
    data_cfg = test_data_cfg(run.cfgs)
    dataset_name = None
    staged: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="gaitgen-extract-") as scratch:
        if partition is not None:
            partition_file = Path(partition).expanduser().resolve()
            if not partition_file.is_file():
                raise DataError(f"--partition: {partition_file} does not exist")
            _point_run_at(run, root, partition_file)
            dataset_name = data_cfg.get("test_dataset_name") or data_cfg.get("dataset_name")
        else:
            staging = root
            if layout.startswith("flat"):
                staging = Path(scratch) / "sequences"
                ids, staged = _stage_flat(root, layout, staging)
            else:
                ids = [p.name for p in _visible(root) if p.is_dir()]
            partition_file = Path(scratch) / "partition.json"
            listing = ", ".join(f'"{i}"' for i in ids)
            atomic_write_text(partition_file, f'{{"TRAIN_SET": [], "TEST_SET": [{listing}]}}\n')
            _point_run_at(run, staging, partition_file)
        try:
            with using_project(run.project):  # its samplers and transforms may be its own
                features, dataset = embed_test_set(run, ctx, model)
        except DataError as exc:  # name the user's file, not its link in the scratch folder
            raise DataError(_name_user_files(str(exc), staged)) from None
    save_embeddings(  # atomic itself: the old file stays if the write fails
        out_path,
        features.numpy(),
        dataset.label_list,
        dataset.types_list,
        dataset.views_list,
        dataset_name=dataset_name,
    )
    return ExtractResult(out_path, len(dataset), tuple(features.shape), layout, restored.iteration)
