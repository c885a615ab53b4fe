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

from ..config.schema import data_blocks

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
            starter = any(block.get("synthetic") for block in data_blocks(cfgs))
            found.append(ZooConfig(path, model, starter))
    return found


def starter_config(model: str) -> Path | None:
    """The starter config of ``model``: the file named after it first (``gaitgl.yaml``), else
    the first starter in name order (``gln_phase1.yaml`` for GLN); None if it has none."""
    starters = [c.path for c in zoo_configs() if c.starter and c.model == model]
    named = [p for p in starters if p.stem == model.lower()]
    return (named or starters or [None])[0]


@dataclass(frozen=True)
class ZooModel:
    """What the README's model table and ``gaitgen list`` say of a built-in model.

    Attributes:
        paper: the paper that introduced it.
        full_config: the zoo's full-size config file (OpenGait's settings).
        parameters: its parameter count at that size (tests check it against the model).
    """

    paper: str
    full_config: str
    parameters: int


MODELS: dict[str, ZooModel] = {
    "Baseline": ZooModel(
        "GaitBase: Fan et al., OpenGait, CVPR 2023", "baseline_casiab.yaml", 7_305_408
    ),
    "GaitSet": ZooModel("Chao et al., GaitSet, AAAI 2019", "gaitset_casiab.yaml", 2_594_592),
    "GaitPart": ZooModel("Fan et al., GaitPart, CVPR 2020", "gaitpart_casiab.yaml", 1_204_000),
    "GLN": ZooModel("Hou et al., GLN, ECCV 2020", "gln_phase2_casiab.yaml", 14_703_904),
    "GaitGL": ZooModel("Lin et al., GaitGL, ICCV 2021", "gaitgl_casiab.yaml", 3_096_673),
    "DeepGaitV2": ZooModel(
        "Fan et al., Exploring Deep Models for Practical Gait Recognition, 2023",
        "deepgaitv2_casiab.yaml",
        8_339_392,
    ),
    "ScoNet": ZooModel(
        "Zhou et al., Gait Patterns as Biomarkers: A Video-Based Approach for Classifying "
        "Scoliosis, MICCAI 2024",
        "sconet_scoliosis1k.yaml",
        7_014_592,
    ),
    "Segmentation": ZooModel(
        "Liang et al., GaitEdge: Beyond Plain End-to-end Gait Recognition for Better "
        "Practicality, ECCV 2022",
        "segmentation_casiab.yaml",
        537_425,
    ),
    "SwinGait": ZooModel(
        "Fan et al., Exploring Deep Models for Practical Gait Recognition, 2023",
        "swingait_gait3d.yaml",
        25_539_136,
    ),
    "SMPLGait": ZooModel(
        "Zheng et al., Gait Recognition in the Wild with Dense 3D Representations, CVPR 2022",
        "smplgait_gait3d.yaml",
        27_110_976,
    ),
    "ParsingGait": ZooModel(
        "Zheng et al., Parsing is All You Need for Accurate Gait Recognition in the Wild, "
        "ACM MM 2023",
        "parsinggait_gait3d_parsing.yaml",
        24_323_781,
    ),
    "SkeletonGaitPP": ZooModel(
        "Fan et al., SkeletonGait, AAAI 2024",
        "skeletongait_pp_gait3d.yaml",
        25_568_608,
    ),
    "GaitGraph1": ZooModel("Teepe et al., GaitGraph, ICIP 2021", "gaitgraph1_casiab.yaml", 319_530),
    "GaitGraph2": ZooModel(
        "Teepe et al., Towards a Deeper Understanding of Skeleton-based Gait Recognition, "
        "CVPRW 2022",
        "gaitgraph2_casiab.yaml",
        350_822,
    ),
    "GaitTR": ZooModel(
        "Zhang et al., Spatial Transformer Network on Skeleton-based Gait Recognition, 2023",
        "gaittr_oumvlp.yaml",
        545_458,
    ),
    "MultiScaleGaitGraph": ZooModel(
        "Peng et al., Learning Rich Features for Gait Recognition by Integrating Skeletons and "
        "Silhouettes, 2021",
        "msgg_oumvlp.yaml",
        2_194_760,
    ),
    "FoundationGait_Scaling": ZooModel(
        "FoundationGait, OpenGait (ECCV 2026)", "foundationgait_pretrain_0.03B.yaml", 131_470_720
    ),
    "FoundationGait_Scaling_Finetune": ZooModel(
        "FoundationGait, OpenGait (ECCV 2026)",
        "foundationgait_finetune_gait3d_0.03B.yaml",
        93_622_464,
    ),
    "FoundationGait_Scaling_LinearProbing_Scoliosis1K": ZooModel(
        "FoundationGait, OpenGait (ECCV 2026)",
        "foundationgait_linear_probing_scoliosis1k_0.13B.yaml",
        164_978_880,
    ),
    "GaitSSB_Pretrain": ZooModel(
        "Fan et al., Learning Gait Representation from Massive Unlabelled Walking Videos: "
        "A Benchmark, T-PAMI 2023",
        "gaitssb_pretrain_gaitlu.yaml",
        37_498_048,
    ),
    "GaitSSB_Finetune": ZooModel(
        "Fan et al., Learning Gait Representation from Massive Unlabelled Walking Videos: "
        "A Benchmark, T-PAMI 2023",
        "gaitssb_finetune_casiab.yaml",
        29_339_840,
    ),
}


def format_count(count: int) -> str:
    """A parameter count as people write it: 2.59 M, 338.9 M, 95.6 K."""
    if count >= 1_000_000:
        return f"{count / 1e6:.2f} M" if count < 100_000_000 else f"{count / 1e6:.1f} M"
    return f"{count / 1e3:.1f} K"
