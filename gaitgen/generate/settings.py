"""What a project tells the generators: its package, default config and the data a new config uses.

``[tool.gaitgen]`` in a project's pyproject.toml holds ``package`` (read by
:mod:`gaitgen.runtime.project`) and, written by ``gaitgen init``, ``default_config``: the
config whose ``data_cfg`` (comments included) and batch settings ``gaitgen new-model`` copies
into the config of a new model, so a new model trains on the project's dataset.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaitgen.runtime.errors import GenerateError
from gaitgen.runtime.project import Project

from . import yaml_edit
from .render import render

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_LINE_LENGTH = 100
DEFAULT_SYNTH_SUBJECTS = 40
DEFAULT_SYNTH_FRAMES = 30
SYNTH_DATA_TEMPLATE = "project/includes/synthgait_data_cfg.yaml.jinja"


@dataclass(frozen=True)
class ProjectSettings:
    """A project and its generator settings.

    Attributes:
        project: the project found from the working folder.
        default_config: the config new models copy their data settings from (absolute), or
            None when ``[tool.gaitgen]`` names none.
        line_length: black's line length for generated code (``[tool.black] line-length``).
    """

    project: Project
    default_config: Path | None
    line_length: int


@dataclass(frozen=True)
class ConfigDefaults:
    """The dataset and batch settings a new model's config starts from.

    Attributes:
        data_cfg_block: the ``data_cfg:`` block as YAML text, comments kept.
        dataset_name: ``data_cfg.dataset_name``.
        class_num: number of training identities (``SeparateBNNecks.class_num``).
        batch_size: ``trainer_cfg.sampler.batch_size`` as [P, K].
        frames_num_fixed: frames per training sequence.
        source: where these came from, for messages and the config's header comment.
        synthetic: ``data_cfg.synthetic`` when the data is generated (SynthGait), else None.
    """

    data_cfg_block: str
    dataset_name: str
    class_num: int
    batch_size: list[int]
    frames_num_fixed: int
    source: str
    synthetic: dict[str, Any] | None = None


def read_settings(project: Project) -> ProjectSettings:
    """Read ``[tool.gaitgen]`` and ``[tool.black]`` from the project's pyproject.toml."""
    data = tomllib.loads((project.root / "pyproject.toml").read_text(encoding="utf-8"))
    tool = data.get("tool", {})
    default_config = tool.get("gaitgen", {}).get("default_config")
    line_length = tool.get("black", {}).get("line-length", DEFAULT_LINE_LENGTH)
    return ProjectSettings(
        project=project,
        default_config=(project.root / default_config) if isinstance(default_config, str) else None,
        line_length=int(line_length),
    )


def synthgait_data_block(
    subjects: int = DEFAULT_SYNTH_SUBJECTS,
    frames: int = DEFAULT_SYNTH_FRAMES,
    modalities: tuple[str, ...] = ("silhouette",),
) -> str:
    """The ``data_cfg`` block of a project on the built-in SynthGait data (shared with init).

    Args:
        subjects: identities of the dataset.
        frames: frames per sequence.
        modalities: what each sequence folder holds (``gaitgen synth --modalities``); other
            than silhouettes alone, the dataset gets a folder of its own
            (``data/synthgait_<modalities>``).
    """
    return render(
        SYNTH_DATA_TEMPLATE,
        synth_subjects=subjects,
        synth_frames=frames,
        synth_modalities=list(modalities),
    )


def synthetic_modalities(data_cfg: Any) -> tuple[str, ...]:
    """The modalities ``data_cfg.synthetic`` generates (silhouettes unless it says otherwise);
    ``()`` when the data is not generated."""
    synthetic = data_cfg.get("synthetic") if isinstance(data_cfg, dict) else None
    if not isinstance(synthetic, dict):
        return ()
    names = synthetic.get("modalities") or ["silhouette"]
    names = names.split(",") if isinstance(names, str) else names
    return tuple(str(name).strip() for name in names)


def synthetic_layout(data_cfg: Any) -> str | None:
    """The evaluation layout ``data_cfg.synthetic`` writes SynthGait in (``scoliosis``, ...);
    ``None`` for CASIA-B's, the default, and when the data is not generated."""
    synthetic = data_cfg.get("synthetic") if isinstance(data_cfg, dict) else None
    if not isinstance(synthetic, dict) or synthetic.get("layout") is None:
        return None
    from gaitgen.runtime.synth.layouts import DEFAULT_LAYOUT, get_layout

    name = get_layout(synthetic["layout"], "data_cfg.synthetic.layout").name
    return None if name == DEFAULT_LAYOUT else name


def modality_data_block(defaults: ConfigDefaults, modalities: tuple[str, ...]) -> str | None:
    """The ``data_cfg`` block of a new config on ``modalities``.

    The project's own block when it holds them already (silhouettes: any dataset that
    does not say otherwise); a SynthGait block of those modalities, with the project's
    subjects and frames, when the project's data is SynthGait; None when the project's data
    is a real dataset, which the user must point at files of these modalities.
    """
    synthetic = defaults.synthetic
    if synthetic is None:
        return defaults.data_cfg_block if modalities == ("silhouette",) else None
    if sorted(synthetic_modalities({"synthetic": synthetic})) == sorted(modalities):
        return defaults.data_cfg_block
    subjects = synthetic.get("subjects", DEFAULT_SYNTH_SUBJECTS)
    frames = synthetic.get("frames", DEFAULT_SYNTH_FRAMES)
    return synthgait_data_block(
        subjects if isinstance(subjects, int) else DEFAULT_SYNTH_SUBJECTS,
        frames if isinstance(frames, int) else DEFAULT_SYNTH_FRAMES,
        modalities,
    )


def synthetic_train_ids(subjects: int) -> int:
    """Training identities of a SynthGait dataset with ``subjects`` identities."""
    from gaitgen.runtime.synth.partition import train_subject_count

    return train_subject_count(subjects)


def config_defaults(settings: ProjectSettings) -> ConfigDefaults:
    """The data settings for a new config: from the project's default config when it has one.

    Raises:
        GenerateError: the default config cannot be read, or the number of training
            identities cannot be found.
    """
    import yaml

    path = settings.default_config
    if path is None or not path.is_file():
        block = synthgait_data_block()
        source = "gaitgen's SynthGait defaults"
        cfgs: dict[str, Any] = yaml.safe_load(block)
    else:
        source = str(path.relative_to(settings.project.root))
        text, cfgs = yaml_edit.read_config(
            path, source, "fix it or change [tool.gaitgen] default_config in pyproject.toml"
        )
        block = yaml_edit.block_text(text, "data_cfg")
        if not isinstance(cfgs.get("data_cfg"), dict) or block is None:
            raise GenerateError(
                f"{source}: has no data_cfg mapping to copy into the new config; "
                f"add one or change [tool.gaitgen] default_config"
            )
        if yaml.safe_load(block) != {"data_cfg": cfgs["data_cfg"]}:
            # unusual layout (flow style, anchors): fall back to a plain dump, losing comments
            block = yaml.safe_dump({"data_cfg": cfgs["data_cfg"]}, sort_keys=False)
    data_cfg = cfgs["data_cfg"]
    trainer_cfg = cfgs.get("trainer_cfg") if isinstance(cfgs.get("trainer_cfg"), dict) else {}
    sampler = trainer_cfg.get("sampler") if isinstance(trainer_cfg.get("sampler"), dict) else {}
    batch_size = sampler.get("batch_size", [4, 4])
    frames = sampler.get("frames_num_fixed", 30)
    if not _whole_numbers(batch_size, 2) or not _whole_numbers([frames], 1):
        raise GenerateError(
            f"{source}: trainer_cfg.sampler needs batch_size [P, K] and frames_num_fixed as "
            f"whole numbers (got {batch_size!r} and {frames!r}); fix it first"
        )
    return ConfigDefaults(
        data_cfg_block=block.rstrip("\n") + "\n",
        dataset_name=str(data_cfg.get("dataset_name", "SynthGait")),
        class_num=_class_num(cfgs, settings.project.root, source),
        batch_size=list(batch_size),
        frames_num_fixed=frames,
        source=source,
        synthetic=(
            data_cfg.get("synthetic") if isinstance(data_cfg.get("synthetic"), dict) else None
        ),
    )


def _whole_numbers(values: Any, count: int) -> bool:
    return (
        isinstance(values, list)
        and len(values) == count
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)
    )


def _class_num(cfgs: dict[str, Any], root: Path, source: str) -> int:
    """Training identities: from the partition file, the synthetic spec, or the old config."""
    data_cfg = cfgs["data_cfg"]
    partition = data_cfg.get("dataset_partition")
    if isinstance(partition, str) and (root / partition).is_file():
        try:
            train_set = json.loads((root / partition).read_text(encoding="utf-8"))["TRAIN_SET"]
            return len(train_set)
        except (ValueError, KeyError, TypeError):
            pass  # a broken partition is the data checker's business; try the other sources
    synthetic = data_cfg.get("synthetic")
    if isinstance(synthetic, dict) and isinstance(synthetic.get("subjects"), int):
        return synthetic_train_ids(synthetic["subjects"])
    necks = (cfgs.get("model_cfg") or {}).get("SeparateBNNecks") or {}
    if isinstance(necks.get("class_num"), int):
        return necks["class_num"]
    raise GenerateError(
        f"{source}: cannot tell how many training identities the dataset has (no readable "
        f"dataset_partition, data_cfg.synthetic.subjects or model_cfg.SeparateBNNecks.class_num)"
    )
