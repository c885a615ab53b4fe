"""One copy per machine of each generated dataset, shared by every project that asks for it.

A config's ``data_cfg.synthetic`` block names a generator and its settings; the dataset those
give is the same bytes wherever it is generated, so it is generated once into the user's
cache folder and each project's ``dataset_root`` becomes a symbolic link to it::

    ~/.cache/gaitgen/datasets/synthgait/<key>/      the dataset and its partition.json
    ~/.cache/gaitgen/datasets/synthgait/<key>.json  the settings it was made with (to read)

``<key>`` is a hash of the generator's class, every setting that changes the bytes (its
defaults filled in) and the generator's own source files, so a new gaitgen whose generator
draws differently makes a new entry instead of reusing a stale one.

Where the cache lives, first match wins:

1. ``data_cfg.synthetic.cache_dir`` in the config (``false``: no cache, the dataset is
   generated into ``dataset_root`` itself, as before);
2. the ``GAITGEN_CACHE_DIR`` environment variable;
3. ``$XDG_CACHE_HOME/gaitgen``, else ``~/.cache/gaitgen``.

Two processes asking for a missing entry at once (two projects' first runs) do not both
write it: the generation holds a lock on the cache folder (:func:`..atomic.folder_lock`), and
the generators write a hidden folder renamed into place at the end, so an entry is complete
or absent. Deleting the cache folder is always safe: the next run generates again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text, disk_error, folder_lock
from ..errors import ConfigError
from .generator import DatasetGenerator

#: the environment variable that moves the cache folder
CACHE_ENV = "GAITGEN_CACHE_DIR"
#: the ``data_cfg.synthetic`` key that moves the cache folder (``false``: no cache)
CACHE_KEY = "cache_dir"
PARTITION_FILE = "partition.json"


def cache_root(setting: Any = None, where: str = "data_cfg.synthetic") -> Path | None:
    """The cache folder: ``setting`` (the config's ``cache_dir``), else the environment's.

    Args:
        setting: the config's ``cache_dir`` value: a path, ``None`` (not set) or ``False``.
        where: the config and block, for the message of a bad value.

    Returns:
        The folder (not necessarily existing yet), or None when ``setting`` is ``False``.

    Raises:
        ConfigError: ``setting`` is neither a path nor ``false``.
    """
    if setting is False:
        return None
    if setting is not None and (not isinstance(setting, str) or not setting.strip()):
        raise ConfigError(
            f"{where}.{CACHE_KEY} must be a folder or false (no cache), got {setting!r}"
        )
    chosen = setting or os.environ.get(CACHE_ENV)
    if chosen:
        return Path(os.path.expanduser(chosen)).absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "gaitgen"


def cache_entry(generator: DatasetGenerator, name: str, root: Path) -> Path | None:
    """Where ``generator``'s dataset lives under the cache folder ``root``.

    Args:
        generator: the built generator.
        name: the name the config gave it (``synthgait``), the entry's folder.
        root: the cache folder (:func:`cache_root`).

    Returns:
        ``root/datasets/<name>/<key>``, or None for a generator whose datasets are not cached
        (its :meth:`~.generator.DatasetGenerator.cache_settings` is None).
    """
    settings = generator.cache_settings()
    if settings is None:
        return None
    described = _description(generator, settings)
    text = json.dumps(described, sort_keys=True, default=str)
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return root / "datasets" / name.lower() / key


def _description(generator: DatasetGenerator, settings: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256()
    for path in sorted(generator.source_files()):
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    kind = type(generator)
    return {
        "generator": f"{kind.__module__}.{kind.__qualname__}",
        "settings": settings,
        "source": digest.hexdigest()[:16],
    }


def is_complete(entry: Path) -> bool:
    """Whether ``entry`` holds a finished dataset (its partition is written last)."""
    return (entry / PARTITION_FILE).is_file()


def fill_entry(generator: DatasetGenerator, entry: Path) -> bool:
    """Generate ``entry`` unless it is there; returns whether this call generated it.

    One generation into the cache at a time on a machine (a lock on the cache's datasets
    folder); a process that waited finds the other's entry and uses it.

    Raises:
        GaitgenError: the cache folder cannot be made (no permission, a full disk), naming it
            and how to move it.
    """
    if is_complete(entry):
        return False
    datasets = entry.parent.parent
    try:
        datasets.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        error = disk_error(exc, datasets)
        if error is None:
            raise
        raise type(error)(
            f"{error}; set {CACHE_ENV} or data_cfg.synthetic.{CACHE_KEY} to a writable folder"
        ) from exc
    with folder_lock(datasets):
        if is_complete(entry):
            return False
        generator.generate(entry, entry / PARTITION_FILE)
        described = _description(generator, generator.cache_settings() or {})
        atomic_write_text(entry.with_suffix(".json"), json.dumps(described, indent=2) + "\n")
    return True
