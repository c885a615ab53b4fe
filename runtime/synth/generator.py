"""The base class of dataset generators: what ``data_cfg.synthetic.generator`` can name."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any


class DatasetGenerator:
    """Base of the generators that write a dataset a config can train on at once.

    ``data_cfg.synthetic: {generator: synthgait, subjects: 40}`` names a subclass (the case
    of the name does not matter); its other keys are the constructor's arguments. The runtime
    calls :meth:`generate` when ``data_cfg.dataset_root`` does not exist yet.

    A generator whose :meth:`cache_settings` is not None has its datasets kept once per
    machine in the user's cache folder and shared by every project (``synth/cache.py``).
    """

    def cache_settings(self) -> dict[str, Any] | None:
        """Every setting that changes the bytes written, or None: not cached (the default).

        A generator that gives the same bytes for the same settings returns them here (its
        defaults filled in, settings that only change the speed left out).
        """
        return None

    def source_files(self) -> list[Path]:
        """The source files whose code decides the bytes: a change makes a new cache entry.

        The default is the file that defines the class.
        """
        return [Path(inspect.getfile(type(self)))]

    def generate(self, root: Path, partition_path: Path) -> Path:
        """Write the dataset under ``root`` (complete or not at all) and its partition JSON.

        Returns:
            The partition file's path.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")
