"""Everything a phase needs before it starts: the config, the project, paths, the data."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import disk_error
from ..config import load_config
from ..config.schema import datasets_name, named_data_blocks
from ..distributed import DistContext, barrier
from ..errors import ConfigError, DataError
from ..project import Project, find_project
from .run_folder import RunFolder

log = logging.getLogger("gaitgen")


@dataclass
class Run:
    """A resolved config and where its files go.

    Attributes:
        cfgs: the resolved config (defaults merged, overrides applied, data paths absolute).
        config_path: the user's config file.
        project: the project the config belongs to, if any.
        base_dir: the project root, or the working folder outside a project; relative paths
            in data_cfg and the ``output/`` folder are taken from here.
    """

    cfgs: dict[str, Any]
    config_path: Path
    project: Project | None
    base_dir: Path
    overrides: list[str] = field(default_factory=list)

    def run_folder(self, phase: str) -> RunFolder:
        """The run folder of ``phase`` (``train`` or ``test``): ``output/<dataset_name>/
        <model>/<save_name>/`` under :attr:`base_dir`, with that phase's ``save_name``.

        Raises:
            ConfigError: one of the three names would lead out of ``output/`` (``..``, a
                slash, an absolute path), is empty or is too long for the file system.
        """
        section = "trainer_cfg" if phase == "train" else "evaluator_cfg"
        return RunFolder.under(
            self.base_dir,
            datasets_name(self.cfgs["data_cfg"]),
            self.cfgs["model_cfg"].get("model"),
            self.cfgs[section].get("save_name"),
            ("data_cfg.dataset_name", "model_cfg.model", f"{section}.save_name"),
            self.config_path,
        )

    @property
    def checkpoint_search(self) -> tuple[Path, ...]:
        """Where a relative ``restore_hint`` path is looked for after the working folder."""
        return (self.base_dir, self.config_path.parent)


def load_run(config_path: Path | str, overrides: list[str] | None = None) -> Run:
    """Load the config, find the project and make the data paths absolute."""
    config_path = Path(config_path).resolve()
    overrides = list(overrides or [])
    cfgs = load_config(config_path, overrides)
    project = find_project(config_path)
    base_dir = project.root if project is not None else Path.cwd()
    for prefix, data_cfg in named_data_blocks(cfgs["data_cfg"]):
        for key in (
            "dataset_root",
            "dataset_partition",
            "test_dataset_root",
            "test_dataset_partition",
        ):
            value = data_cfg.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise ConfigError(f"{config_path}: {prefix}.{key} must be a path, got {value!r}")
            path = Path(os.path.expanduser(value))
            data_cfg[key] = str(path if path.is_absolute() else (base_dir / path).resolve())
    run = Run(
        cfgs=cfgs, config_path=config_path, project=project, base_dir=base_dir, overrides=overrides
    )
    for phase in ("train", "test"):  # the names are checked once, here, for both phases
        run.run_folder(phase)
    return run


def ensure_synthetic_data(run: Run, ctx: DistContext) -> None:
    """Make the dataset of each ``data_cfg.synthetic`` whose root does not exist yet.

    The dataset is generated once per machine into the user's cache folder and
    ``dataset_root`` becomes a symbolic link to it (``runtime/synth/cache.py``; ``cache_dir:
    false`` in the block generates into ``dataset_root`` itself). Rank 0 of each node
    generates (the generators write atomically), the others wait.
    """
    for prefix, data_cfg in named_data_blocks(run.cfgs["data_cfg"]):
        _ensure_block(run, ctx, prefix, data_cfg)


def _ensure_block(run: Run, ctx: DistContext, prefix: str, data_cfg: dict[str, Any]) -> None:
    spec = data_cfg.get("synthetic")
    if not spec:
        return
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{run.config_path}: {prefix}.synthetic must be a mapping such as "
            "{generator: synthgait, subjects: 40}"
        )
    root = Path(data_cfg["dataset_root"])
    partition = Path(data_cfg["dataset_partition"])
    if root.is_dir() and partition.is_file():
        return
    from ..components import build
    from ..synth.cache import CACHE_KEY, cache_entry, cache_root

    where = f"{run.config_path}: {prefix}.synthetic"
    arguments = {key: value for key, value in spec.items() if key != CACHE_KEY}
    generator = build("generator", copy.deepcopy(arguments), where=where, default="synthgait")
    if root.exists() and not partition.is_file() and any(root.iterdir()):
        raise DataError(
            f"{root} exists but has no partition file {partition}; delete the folder "
            f"to have it generated again, or set {prefix}.dataset_partition"
        )
    name = str(spec.get("generator", "synthgait"))
    folder = cache_root(spec.get(CACHE_KEY), where)
    entry = None
    if folder is not None and partition == root / "partition.json":
        entry = cache_entry(generator, name, folder)
    if ctx.local_rank == 0:
        if entry is None:
            log.info("generating the %s dataset in %s (%s.synthetic) ...", name, root, prefix)
            start = time.perf_counter()
            generator.generate(root, partition)
            log.info("dataset ready in %.1f s", time.perf_counter() - start)
        else:
            _link_cached(generator, name, entry, root, prefix)
    barrier()


def _link_cached(generator: Any, name: str, entry: Path, root: Path, prefix: str) -> None:
    """Fill the cache entry if needed, then make ``root`` a link to it."""
    from ..atomic import atomic_symlink
    from ..synth.cache import fill_entry, is_complete

    start = time.perf_counter()
    if not is_complete(entry):
        log.info(
            "generating the %s dataset once for this machine in %s (%s.synthetic; %s) ...",
            name,
            entry,
            prefix,
            "move the cache with GAITGEN_CACHE_DIR",
        )
    if fill_entry(generator, entry):
        log.info("dataset ready in %.1f s", time.perf_counter() - start)
    if root == entry:  # the config's path was read through the link of an earlier run
        return
    if root.is_dir() and not root.is_symlink():
        root.rmdir()  # empty: checked by the caller
    atomic_symlink(entry, root)
    log.info("%s -> %s (the %s dataset, cached for every project)", root, entry, name)


class _OneLineOnFailure:
    """A log handler that a write error (a full disk, a closed pipe) turns off with one line
    on stderr, instead of logging's ``--- Logging error ---`` and a traceback per record."""

    destination = "the log"

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or error
        self.setLevel(logging.CRITICAL + 1)  # type: ignore[attr-defined]  # no more tries
        with contextlib.suppress(Exception):
            print(
                f"warning: cannot write {self.destination}: {reason}; nothing more is "
                "logged there",
                file=sys.stderr,
                flush=True,
            )


class _StreamHandler(_OneLineOnFailure, logging.StreamHandler):
    pass


class _FileHandler(_OneLineOnFailure, logging.FileHandler):
    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.destination = f"the log file {path}"

    def close(self) -> None:  # its last flush may meet the full disk again
        with contextlib.suppress(OSError):
            super().close()


def console_handler(stream: Any, level: int, formatter: logging.Formatter) -> logging.StreamHandler:
    """A handler of the runtime's log lines on ``stream`` from ``level`` on, which a write
    error (a closed pipe, a full disk) turns off with one line instead of a traceback."""
    handler = _StreamHandler(stream)
    handler.setLevel(level)
    handler.setFormatter(formatter)
    return handler


def setup_logging(ctx: DistContext, log_file: Path | None = None) -> None:
    """INFO on stdout from rank 0; warnings and errors from every rank on stderr.

    Raises:
        GaitgenError: ``log_file`` cannot be made (a full disk, no permission), naming it.
    """
    logger = logging.getLogger("gaitgen")
    logger.handlers.clear()
    logger.propagate = False
    prefix = f"[rank {ctx.rank}] " if ctx.distributed else ""
    formatter = logging.Formatter(f"%(asctime)s {prefix}%(message)s", "%H:%M:%S")
    if ctx.is_main:
        out = console_handler(sys.stdout, logging.INFO, formatter)
        out.addFilter(lambda record: record.levelno < logging.WARNING)
        logger.addHandler(out)
    logger.addHandler(console_handler(sys.stderr, logging.WARNING, formatter))
    if log_file is not None and ctx.is_main:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            file_handler = _FileHandler(log_file)
        except OSError as exc:
            raise (disk_error(exc, log_file) or exc) from exc
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(file_handler)
    logger.setLevel(logging.INFO)
