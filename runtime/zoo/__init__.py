"""The model zoo's configs: a starter config on SynthGait and full-size configs per model.

Each ``*.yaml`` beside this file names one built-in model in ``model_cfg.model``. A config
with ``data_cfg.synthetic`` is a *starter*: small enough to train on 2 CPU cores in minutes
on the generated SynthGait data. The others are the full-size models with OpenGait's
settings, for GPUs and real datasets (their ``dataset_root`` is a placeholder).

    gaitgen new-model MyGL --from GaitGL    # a subclass of GaitGL and its starter config

This module reads YAML only (no torch), so the CLI can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

ZOO_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ZooConfig:
    """One config file of the zoo.

    Attributes:
        path: the file.
        model: the model class it builds (``model_cfg.model``).
        starter: it trains on SynthGait (has ``data_cfg.synthetic``).
    """

    path: Path
    model: str
    starter: bool


def zoo_configs() -> list[ZooConfig]:
    """Every config of the zoo, in file-name order."""
    found = []
    for path in sorted(ZOO_DIR.glob("*.yaml")):
        cfgs = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        model = (cfgs.get("model_cfg") or {}).get("model")
        if isinstance(model, str):
            starter = bool((cfgs.get("data_cfg") or {}).get("synthetic"))
            found.append(ZooConfig(path, model, starter))
    return found


def starter_config(model: str) -> Path | None:
    """The starter config of ``model``: the file named after it first (``gaitgl.yaml``), else
    the first starter in name order (``gln_phase1.yaml`` for GLN); None if it has none."""
    starters = [c.path for c in zoo_configs() if c.starter and c.model == model]
    named = [p for p in starters if p.stem == model.lower()]
    return (named or starters or [None])[0]
