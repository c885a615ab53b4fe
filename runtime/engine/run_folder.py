"""What a training run may find and leave in its run folder.

``output/<dataset_name>/<model>/<save_name>/`` holds::

    train.lock                 held while a 'gaitgen train' runs (pid host started)
    config.yaml                the resolved config of the run's first start
    config-<iteration>.yaml    the resolved config of each resume, at that iteration
    checkpoints/<save_name>-<iteration>.pt
    summary/                   scalars.jsonl, TensorBoard events
    logs/                      with --log-to-file
    results.json, embeddings.npz, heatmap_*.png    written by 'gaitgen test'

A fresh run (``restore_hint: 0``, or a checkpoint file to fine-tune from) into a folder
that already holds checkpoints of its ``save_name`` would mix two runs' checkpoints (and
``test`` would pick the old, later one): it is refused unless ``--overwrite`` is given.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from ..atomic import remove_stale_temporaries
from ..checkpoint import list_checkpoints, remove_stale_checkpoint_temporaries
from ..errors import CheckpointError

log = logging.getLogger("gaitgen")

CONFIG_FILE = "config.yaml"


def continues_run(hint: Any) -> bool:
    """Whether ``restore_hint`` continues a run (an iteration or "latest") or starts one."""
    return hint == "latest" or (isinstance(hint, int) and not isinstance(hint, bool) and hint > 0)


def refuse_fresh_run_over_checkpoints(
    checkpoint_dir: Path, save_name: str, config_path: Path | None = None
) -> None:
    """Raise when ``checkpoint_dir`` already holds checkpoints of ``save_name``.

    Raises:
        CheckpointError: one line saying what is there and the three ways on.
    """
    found = list_checkpoints(checkpoint_dir, save_name)
    if not found:
        return
    iterations = list(found)
    shown = ", ".join(str(i) for i in iterations[:5]) + (", ..." if len(iterations) > 5 else "")
    config = str(config_path) if config_path is not None else "CONFIG"
    raise CheckpointError(
        f"{checkpoint_dir} already holds {len(found)} checkpoint(s) of '{save_name}' "
        f"(iterations {shown}) and this run would start afresh (restore_hint: 0), mixing "
        f"the two: resume with 'gaitgen train {config} --iter {iterations[-1]}' (or --set "
        "trainer_cfg.restore_hint=latest), train into a new folder with --set "
        "trainer_cfg.save_name=NEW, or pass --overwrite to delete them"
    )


def clear_for_fresh_run(run_dir: Path, checkpoint_dir: Path, save_name: str) -> None:
    """``--overwrite``: delete the old run's checkpoints, summaries and resume configs."""
    removed = list(list_checkpoints(checkpoint_dir, save_name).values())
    for path in removed:
        path.unlink(missing_ok=True)
    for path in run_dir.glob("config-*.yaml"):
        path.unlink(missing_ok=True)
    summary = run_dir / "summary"
    if summary.is_dir():
        shutil.rmtree(summary)  # or the new run's scalars would append to the old ones
    if removed:
        log.warning(
            "--overwrite: deleted %d checkpoint(s) of '%s' in %s and the old summaries",
            len(removed),
            save_name,
            checkpoint_dir,
        )


def remove_stale_files(run_dir: Path, checkpoint_dir: Path, save_name: str) -> list[Path]:
    """Delete what killed writes of a training run left (only under the run lock)."""
    removed = remove_stale_checkpoint_temporaries(checkpoint_dir, save_name)
    for path in remove_stale_temporaries(run_dir, "config*.yaml"):
        log.info("removed %s, left by a write that was interrupted", path)
        removed.append(path)
    return removed


def config_file_for(run_dir: Path, iteration: int, resumed: bool) -> Path:
    """Where this start of a run writes its resolved config.

    A fresh run writes ``config.yaml``; a resumed one keeps the first run's and writes
    ``config-<iteration>.yaml`` (the iteration it resumed at), so every start's settings stay.
    """
    first = run_dir / CONFIG_FILE
    if not resumed or not first.exists():
        return first
    return run_dir / f"config-{iteration:05d}.yaml"
