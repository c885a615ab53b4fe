"""What an evaluation function is given: the test set's outputs and the settings.

:class:`EvalData` is what ``gaitgen test`` collects (and ``embeddings.npz`` holds);
:class:`EvalSettings` the options of ``evaluator_cfg`` or of ``gaitgen evaluate``;
:func:`load_partition` reads a partition file's ``PROBE_SET`` / ``GALLERY_SET``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gaitgen.runtime.errors import ConfigError


@dataclass
class EvalData:
    """A test set's outputs.

    Attributes:
        feature: ``[N, c, p]`` embeddings (a classifier's logits ``[N, classes, p]``), numpy
            or torch; ``None`` for segmentation.
        label, type, view: ``N`` strings each (OpenGait's ``labels``, ``types``, ``views``).
        arrays: any other named arrays a function reads (segmentation's ``pred``, ``mask``).
    """

    feature: Any = None
    label: np.ndarray = field(default_factory=lambda: np.zeros(0, str))
    type: np.ndarray = field(default_factory=lambda: np.zeros(0, str))  # noqa: A003
    view: np.ndarray = field(default_factory=lambda: np.zeros(0, str))
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def opengait(self) -> dict[str, Any]:
        """The dict OpenGait's evaluation functions take (``embeddings``, ``labels``,
        ``types``, ``views`` as lists, and the other arrays by name)."""
        return {
            "embeddings": self.feature,
            "labels": self.label.tolist(),
            "types": self.type.tolist(),
            "views": self.view.tolist(),
            **self.arrays,
        }


@dataclass
class EvalSettings:
    """How to evaluate.

    Attributes:
        metric: ``"euc"`` or ``"cos"``.
        cross_view: the cross-view gallery (view protocols).
        rerank: k-reciprocal re-ranking: a bool or ``{k1, k2, lambda_value}``.
        partition: the partition's sets (``{"PROBE_SET": [...], "GALLERY_SET": [...]}``),
            for the functions that read one.
        remove_no_gallery: leave probes whose subject has no gallery out of the rates.
        device: where to compute (default: the features' GPU, any GPU, else the CPU).
        protocol: an explicit protocol (a preset name, a custom mapping or a
            :class:`~.protocols.Protocol`) overriding the dataset's preset.
        out_dir: where files a function writes (submissions) go; ``None``: the working
            directory, as OpenGait writes them.
        given: the option names the user set explicitly, so a function that takes no such
            option can refuse it rather than ignore it.
    """

    metric: str = "euc"
    cross_view: bool = False
    rerank: bool | Mapping[str, Any] = False
    partition: Mapping[str, list[str]] | None = None
    remove_no_gallery: bool = False
    device: Any = None
    protocol: Any = None
    out_dir: Path | None = None
    given: tuple[str, ...] = ()


PARTITION_KEYS = ("PROBE_SET", "GALLERY_SET")


def load_partition(path: str | Path, where: str = "partition") -> dict[str, list[str]]:
    """Read a partition file's ``PROBE_SET`` / ``GALLERY_SET`` (``label-type-view`` names);
    a plain JSON list is read as a ``PROBE_SET``.

    Raises:
        ConfigError: the file cannot be read or holds neither list; names ``where``.
    """
    try:
        content = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read {path} ({exc})") from None
    if isinstance(content, list):
        content = {"PROBE_SET": content}
    sets = {}
    if isinstance(content, dict):
        for key in PARTITION_KEYS:
            value = content.get(key)
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
                raise ConfigError(f"{where}: {path}: {key} must be a list of names")
            sets[key] = [str(v) for v in value]
    if not sets:
        raise ConfigError(
            f"{where}: {path} holds no PROBE_SET or GALLERY_SET list of label-type-view names"
        )
    return sets
