"""The base class of dataset generators: what ``data_cfg.synthetic.generator`` can name."""

from __future__ import annotations

from pathlib import Path


class DatasetGenerator:
    """Base of the generators that write a dataset a config can train on at once.

    ``data_cfg.synthetic: {generator: synthgait, subjects: 40}`` names a subclass (the case
    of the name does not matter); its other keys are the constructor's arguments. The runtime
    calls :meth:`generate` when ``data_cfg.dataset_root`` does not exist yet.
    """

    def generate(self, root: Path, partition_path: Path) -> Path:
        """Write the dataset under ``root`` (complete or not at all) and its partition JSON.

        Returns:
            The partition file's path.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")
