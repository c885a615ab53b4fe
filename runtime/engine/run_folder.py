"""The run folder: every name in it, and what a run may find and leave there.

``output/<dataset_name>/<model>/<save_name>/`` (OpenGait's layout) holds::

    train.lock                 held while a 'gaitgen train' runs (pid host started)
    config.yaml                the resolved config of the run's first start
    config-<iteration>.yaml    the resolved config of each resume, at that iteration
    checkpoints/<save_name>-<iteration:05d>.pt
    summary/                   scalars.jsonl, TensorBoard events
    logs/                      <phase>-<date>-<time>.txt, with --log-to-file
    results.json, embeddings.npz, heatmap_*.png    written by 'gaitgen test' (the latest)
    results-<iteration>.json   the results of each checkpoint tested
    metric_history.json        trainer_cfg.best_metric of each with_test test, by iteration

This module is the only place that spells these names; the trainer, the tester, ``extract``,
``compare`` and the launcher use it. It imports no torch, so the CLI can read a run folder
cheaply.

A fresh run (``restore_hint: 0``, or a checkpoint file to fine-tune from) into a folder
that already holds checkpoints of its ``save_name`` would mix two runs' checkpoints (and
``test`` would pick the old, later one): it is refused unless ``--overwrite`` is given.

    folder = RunFolder.under(base_dir, "SynthGait", "Baseline", "run1")
    folder.checkpoint(2000)         # .../checkpoints/run1-02000.pt
    folder.checkpoints()            # {iteration: path} of every complete checkpoint
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import remove_stale_temporaries
from ..errors import CheckpointError, ConfigError

log = logging.getLogger("gaitgen")

OUTPUT_DIR = "output"
CHECKPOINT_DIR = "checkpoints"
SUMMARY_DIR = "summary"
LOG_DIR = "logs"
CONFIG_FILE = "config.yaml"
RESULTS_FILE = "results.json"


def results_file_of(iteration: int) -> str:
    """The name of the results of the checkpoint of ``iteration`` (``results-00040.json``);
    ``results.json`` is the latest test's, whichever checkpoint it evaluated."""
    return f"results-{iteration:05d}.json"


EMBEDDINGS_FILE = "embeddings.npz"
SCALARS_FILE = "scalars.jsonl"  # in summary/
LOCK_FILE = "train.lock"
METRIC_HISTORY_FILE = "metric_history.json"

# <save_name>-<iteration>.pt: OpenGait's checkpoint names (the iteration zero-padded to 5)
_CHECKPOINT_NAME = re.compile(r"^(?P<save_name>.+)-(?P<iteration>\d+)\.pt$")


def parse_checkpoint_name(name: str) -> tuple[str, int] | None:
    """``(save_name, iteration)`` of a checkpoint file name, or None for another file."""
    match = _CHECKPOINT_NAME.match(name)
    return (match["save_name"], int(match["iteration"])) if match else None


# A file system holds at most 255 bytes per name (ext4, xfs, btrfs, APFS, NTFS). The longest
# name gaitgen makes from a config name is the temporary of a checkpoint save,
# ``.<save_name>-<iteration>.pt.<8 random>.tmp``: 18 bytes plus the iteration's digits more
# than the name. 200 bytes leaves room for every such file, at any iteration a run can reach.
MAX_NAME_BYTES = 200


def folder_name(value: Any, key: str, config_path: Path | None = None) -> str:
    """``value`` as one folder name inside the run folder, or a ConfigError naming ``key``.

    Names from the config become paths (``output/<dataset_name>/<model>/<save_name>``, the
    checkpoint files ``<save_name>-<iteration>.pt``): a name with a path separator, ``..`` or
    an absolute path would write outside ``output/``, so it is refused; so is a name longer
    than :data:`MAX_NAME_BYTES` (in the file system's encoding), which the file system would
    refuse for the folder or for a checkpoint named after it, perhaps only after training.
    """
    where = f"{config_path}: " if config_path is not None else ""
    text = "" if value is None else str(value)
    bad = (
        not text.strip()
        or text in (".", "..")
        or "/" in text
        or "\\" in text
        or "\0" in text
        or os.path.isabs(text)
    )
    if bad:
        raise ConfigError(
            f"{where}{key}: {value!r} is not a plain name; it becomes a folder or file name "
            "inside the run folder output/<dataset_name>/<model>/<save_name>/, so it must be "
            f"non-empty and hold no '/', '\\' or '..' (e.g. --set {key}=my_run)"
        )
    size = len(os.fsencode(text))
    if size > MAX_NAME_BYTES:
        raise ConfigError(
            f"{where}{key}: {text[:24]!r}... is {size} bytes long: a name that becomes a "
            "folder of output/<dataset_name>/<model>/<save_name>/ (and part of the "
            f"checkpoints' file names) may be at most {MAX_NAME_BYTES} bytes, for the file "
            f"system's limit of 255: use a shorter name (e.g. --set {key}=my_run)"
        )
    return text


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` looks like a run folder (it has a config, summaries or checkpoints)."""
    return any((path / name).exists() for name in (CONFIG_FILE, SUMMARY_DIR, CHECKPOINT_DIR))


def names_from_path(path: Path) -> tuple[str | None, str | None]:
    """``(dataset_name, model)`` that OpenGait's layout gives a run folder's path."""
    parts = path.resolve().parts
    if len(parts) < 3:
        return None, None
    return parts[-3], parts[-2]


def continues_run(hint: Any) -> bool:
    """Whether ``restore_hint`` continues a run (an iteration or "latest") or starts one.

    A file path restores weights to fine-tune from iteration 0 (OpenGait's meaning); 0 starts
    from scratch.
    """
    return hint == "latest" or (isinstance(hint, int) and not isinstance(hint, bool) and hint > 0)


@dataclass(frozen=True)
class RunFolder:
    """One run's folder and the run's ``save_name`` (which names its checkpoints).

    Attributes:
        path: ``output/<dataset_name>/<model>/<save_name>/`` (need not exist yet).
        save_name: ``trainer_cfg.save_name`` or ``evaluator_cfg.save_name``.
    """

    path: Path
    save_name: str

    @classmethod
    def under(
        cls,
        base_dir: Path,
        dataset_name: Any,
        model: Any,
        save_name: Any,
        keys: Sequence[str] = ("data_cfg.dataset_name", "model_cfg.model", "trainer_cfg.save_name"),
        config_path: Path | None = None,
    ) -> RunFolder:
        """``base_dir/output/<dataset_name>/<model>/<save_name>/``.

        Raises:
            ConfigError: a name would lead out of ``output/``, is empty or is longer than
                :data:`MAX_NAME_BYTES` (names its ``keys`` entry and ``config_path``).
        """
        path = base_dir / OUTPUT_DIR
        for value, key in zip((dataset_name, model, save_name), keys):
            path = path / folder_name(value, key, config_path)
        return cls(path, str(save_name))

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINT_DIR

    @property
    def summary_dir(self) -> Path:
        return self.path / SUMMARY_DIR

    @property
    def scalars_file(self) -> Path:
        return self.summary_dir / SCALARS_FILE

    @property
    def config_file(self) -> Path:
        """``config.yaml``: the resolved config of the run's first start."""
        return self.path / CONFIG_FILE

    @property
    def results_file(self) -> Path:
        return self.path / RESULTS_FILE

    @property
    def embeddings_file(self) -> Path:
        return self.path / EMBEDDINGS_FILE

    @property
    def lock_file(self) -> Path:
        return self.path / LOCK_FILE

    @property
    def metric_history_file(self) -> Path:
        """``trainer_cfg.best_metric`` of each test during training, by iteration."""
        return self.path / METRIC_HISTORY_FILE

    def log_file(self, phase: str, stamp: str) -> Path:
        """``logs/<phase>-<stamp>.txt`` (``stamp``: the start's date and time)."""
        return self.path / LOG_DIR / f"{phase}-{stamp}.txt"

    def checkpoint(self, iteration: int) -> Path:
        """``checkpoints/<save_name>-<iteration:05d>.pt``.

        Raises:
            CheckpointError: ``checkpoints`` is a file, not a folder.
        """
        return self._checkpoint_folder() / f"{self.save_name}-{iteration:05d}.pt"

    def checkpoints(self) -> dict[int, Path]:
        """Iteration -> file of every complete checkpoint of ``save_name``, in order.

        Temporary files of saves in progress (``.<name>.*.tmp``) are not checkpoints.

        Raises:
            CheckpointError: ``checkpoints`` is a file, not a folder.
        """
        found: dict[int, Path] = {}
        if self._checkpoint_folder().is_dir():
            for path in self.checkpoint_dir.iterdir():
                parsed = parse_checkpoint_name(path.name)
                if parsed is not None and parsed[0] == self.save_name:
                    found[parsed[1]] = path
        return dict(sorted(found.items()))

    def _checkpoint_folder(self) -> Path:
        """``checkpoint_dir``, once it is known not to be a file (it need not exist yet):
        every reader and writer of checkpoints comes through here."""
        folder = self.checkpoint_dir
        if folder.exists() and not folder.is_dir():
            raise CheckpointError(
                f"{folder}: is a file, not a folder; the run folder keeps its checkpoints in "
                "it: move the file away (or delete it) and run again"
            )
        return folder

    def refuse_or_drop_later_checkpoints(
        self, iteration: int, drop: bool, config_path: Path | str
    ) -> list[int]:
        """A run resumed at ``iteration`` while later checkpoints exist would mix two
        timelines (and ``gaitgen test`` would evaluate the abandoned one's latest).

        Args:
            iteration: the checkpoint resumed from.
            drop: delete the later checkpoints and their resume configs (``--overwrite``).
            config_path: the run's config, for the message.

        Returns:
            The iterations of the checkpoints deleted.

        Raises:
            CheckpointError: later checkpoints exist and ``drop`` is off.
        """
        later = [i for i in self.checkpoints() if i > iteration]
        if not later:
            return []
        if not drop:
            raise CheckpointError(
                f"{self.checkpoint_dir} holds checkpoints of '{self.save_name}' later than "
                f"iteration {iteration}, which this run resumes from (iterations "
                f"{', '.join(map(str, later))}): going on from {iteration} would mix two runs. "
                f"Resume from the latest ('gaitgen train {config_path} --iter {later[-1]}'), "
                "or add --overwrite to delete the later checkpoints and go on from "
                f"{iteration}"
            )
        for number in later:
            self.checkpoint(number).unlink(missing_ok=True)
            (self.path / results_file_of(number)).unlink(missing_ok=True)
        for start, config in self.recorded_configs().items():  # the abandoned resumes'
            if start > iteration:
                config.unlink(missing_ok=True)
        log.warning(
            "--overwrite: deleted the checkpoints after iteration %d (%s) to go on from it",
            iteration,
            ", ".join(map(str, later)),
        )
        return later

    def prune_checkpoints(self, keep_last: int, protected: Sequence[int] = ()) -> list[int]:
        """``trainer_cfg.keep_last``: delete all but the latest ``keep_last`` checkpoints of
        ``save_name``, oldest first, never one of ``protected`` (the best).

        Each file goes by one unlink, after the newest was completely written, so a crash
        leaves a checkpoint too many, never one too few. Returns the iterations deleted.
        """
        found = list(self.checkpoints())
        kept = set(found[-keep_last:]) | set(protected) if keep_last > 0 else set(found)
        deleted = [number for number in found if number not in kept]
        for number in deleted:
            self.checkpoint(number).unlink(missing_ok=True)
        if deleted:
            log.info(
                "trainer_cfg.keep_last: %d; deleted the checkpoints of iterations %s",
                keep_last,
                ", ".join(map(str, deleted)),
            )
        return deleted

    def latest_checkpoint(self) -> Path | None:
        found = self.checkpoints()
        return found[max(found)] if found else None

    def recorded_configs(self) -> dict[int, Path]:
        """Start iteration -> the config file each start of the run wrote, in order
        (``config.yaml`` at 0, ``config-<iteration>.yaml`` for each resume)."""
        found = {0: self.config_file} if self.config_file.is_file() else {}
        for path in self.path.glob("config-*.yaml"):
            start = path.stem.removeprefix("config-")
            if start.isdigit():
                found[int(start)] = path
        return dict(sorted(found.items()))

    def recorded_config(self, iteration: int) -> tuple[Path, dict[str, Any]] | None:
        """The file and settings the run trained with up to ``iteration``: the config of its
        last start at or before it; None when the folder records none.

        Raises:
            ConfigError: the file is not YAML, or a section is not a mapping (file:line, key).
        """
        from ..config import read_sections

        starts = [start for start in self.recorded_configs() if start <= iteration]
        if not starts:
            return None
        path = self.recorded_configs()[starts[-1]]
        return path, read_sections(path)[0]

    def config_file_for(self, iteration: int, resumed: bool) -> Path:
        """Where this start of a run writes its resolved config.

        A fresh run writes ``config.yaml``; a resumed one keeps the first run's and writes
        ``config-<iteration>.yaml`` (the iteration it resumed at), so every start's settings
        stay.
        """
        if not resumed or not self.config_file.exists():
            return self.config_file
        return self.path / f"config-{iteration:05d}.yaml"

    # a training run's checks and clean-ups -------------------------------------------------

    def refuse_fresh_run_over_checkpoints(self, config_path: Path | None = None) -> None:
        """Raise when the folder already holds checkpoints of ``save_name``.

        Raises:
            CheckpointError: one line saying what is there and the three ways on.
        """
        found = self.checkpoints()
        if not found:
            return
        iterations = list(found)
        shown = ", ".join(str(i) for i in iterations[:5]) + (", ..." if len(iterations) > 5 else "")
        config = str(config_path) if config_path is not None else "CONFIG"
        raise CheckpointError(
            f"{self.checkpoint_dir} already holds {len(found)} checkpoint(s) of "
            f"'{self.save_name}' (iterations {shown}) and this run would start afresh "
            f"(restore_hint: 0), mixing the two: resume with 'gaitgen train {config} --iter "
            f"{iterations[-1]}' (or --set trainer_cfg.restore_hint=latest), train into a new "
            "folder with --set trainer_cfg.save_name=NEW, or pass --overwrite to delete them"
        )

    def clear_for_fresh_run(self) -> None:
        """``--overwrite``: delete everything the folder holds of the old run: checkpoints,
        summaries, resume configs, logs and what ``gaitgen test`` wrote (results, embeddings,
        heatmaps), so that nothing of it is taken for the new run's."""
        removed = list(self.checkpoints().values())
        for path in removed:
            path.unlink(missing_ok=True)
        old = [p for start, p in self.recorded_configs().items() if start > 0]
        old += self.path.glob("heatmap_*.png")
        old += self.path.glob("results-*.json")
        old += [self.results_file, self.embeddings_file, self.metric_history_file]
        for path in old:
            path.unlink(missing_ok=True)
        for folder in (self.summary_dir, self.path / LOG_DIR):
            if folder.is_dir():
                shutil.rmtree(folder)  # or the new run's scalars would append to the old
        if removed:
            log.warning(
                "--overwrite: deleted %d checkpoint(s) of '%s' in %s and the old run's "
                "summaries, logs and test results",
                len(removed),
                self.save_name,
                self.checkpoint_dir,
            )

    def remove_stale_files(self) -> list[Path]:
        """Delete what killed writes of a training run left (only under the run lock).

        Only the temporaries of ``save_name``'s checkpoints and of the configs: another
        run's saves in the same folder are left alone.
        """
        removed = remove_stale_temporaries(self.checkpoint_dir, f"{glob.escape(self.save_name)}-*")
        for path in removed:
            log.info("removed %s, left by a save that was interrupted", path)
        for path in remove_stale_temporaries(self.path, "config*.yaml"):
            log.info("removed %s, left by a write that was interrupted", path)
            removed.append(path)
        return removed

    def resolve_restore_hint(self, hint: Any, search: Sequence[Path] = ()) -> Path | None:
        """Turn ``restore_hint`` into a file: 0 -> None, N -> iteration N, "latest", or a path.

        A relative path is looked up as given (from the working folder), then under each
        folder of ``search`` in turn (the run's base folder, the project root, then the
        config's folder): a two-phase config such as GLN's phase 2 names phase 1's checkpoint
        as ``output/<dataset>/<model>/<save_name>/checkpoints/...``, relative to the project.

        Raises:
            CheckpointError: the iteration or file does not exist (the available ones are
                listed).
        """
        if hint in (0, None, False):
            return None
        if hint == "latest":
            return self.latest_checkpoint()
        if isinstance(hint, int) and not isinstance(hint, bool):
            path = self.checkpoint(hint)
            if not path.is_file():
                available = list(self.checkpoints())
                raise CheckpointError(
                    f"restore_hint: {hint}: no checkpoint {path} "
                    f"(available iterations: {available or 'none'})"
                )
            return path
        if isinstance(hint, str):
            path = Path(hint).expanduser()
            if not path.is_absolute() and not path.exists():
                path = next((base / path for base in search if (base / path).is_file()), path)
            if not path.is_file():
                looked = ", ".join(str(base) for base in search)
                raise CheckpointError(
                    f"restore_hint: checkpoint file not found: {hint}"
                    + (f" (looked in the working folder and {looked})" if looked else "")
                )
            return path
        raise CheckpointError(
            f"restore_hint must be an iteration number, 'latest' or a file path, got {hint!r}"
        )
