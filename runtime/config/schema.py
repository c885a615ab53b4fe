"""The config schema: every known key of OpenGait's sections, its type, default and meaning.

One dataclass per section (``data_cfg``, ``trainer_cfg``, ``evaluator_cfg`` and their
``sampler``); each field is a key, its annotation the expected type, its default the packaged
default and ``doc`` one line saying what it does. From them come the defaults every config is
merged over (:func:`default_sections`), the known keys (:func:`known_keys`) and the type and
range checks (:mod:`.typecheck`). ``defaults.yaml`` beside this file is generated from the
schema (``python -m gaitgen.runtime.config > defaults.yaml``; a test keeps it equal), so
a reader finds every default with its meaning there.

A field whose default is :data:`ABSENT` is known but not set by default (the code reading it
has its own fallback, e.g. ``test_dataset_root`` falls back to ``dataset_root``).

The sections that belong to a class (``model_cfg``, ``loss_cfg`` entries, ``optimizer_cfg``,
``scheduler_cfg``, transforms) are checked against that class's signature instead; their
defaults are :data:`CLASS_SECTION_DEFAULTS`.

:data:`OPENGAIT_IGNORED` lists the keys OpenGait's own configs carry but OpenGait never reads
(or drops because the class takes no such parameter): they are accepted with one warning each.
Any other unknown key is an error.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

# "known key, no default": the key is absent from the defaults and the code reading it falls
# back to something else
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()


def key(default: Any, doc: str, **checks: Any) -> Any:
    """A schema field: its default, a one-line doc and optional range checks.

    Args:
        default: the packaged default (lists and dicts are copied per instance), or ABSENT.
        doc: what the key does, in one line (the comment in defaults.yaml).
        checks: ``minimum`` (value >= it), ``above`` (value > it), ``maximum`` (value <= it),
            ``choices`` (one of them), ``opengait`` (False for gaitgen's own additions).
    """
    metadata = {"doc": doc, **checks}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class DataCfg:
    """``data_cfg``: where the dataset is and how it is read."""

    dataset_name: str = key("CASIA-B", "name of the training dataset (the run folder's first part)")
    dataset_root: str = key("your_path", "folder of <id>/<type>/<view>/*.pkl sequences")
    dataset_partition: str = key(
        "./datasets/CASIA-B/CASIA-B.json", "JSON file with TRAIN_SET and TEST_SET id lists"
    )
    num_workers: int = key(
        1, "DataLoader worker processes (0: load in the main process)", minimum=0
    )
    remove_no_gallery: bool = key(False, "drop probes whose identity has no gallery sequence")
    cache: bool = key(False, "keep every sequence in memory after its first read")
    test_dataset_name: str = key("CASIA-B", "dataset whose evaluation protocol tests use")
    data_in_use: list[bool] | list[int] | None = key(
        None, "which modalities (pkl files of a sequence, sorted) to load; null: all"
    )
    test_dataset_root: str = key(ABSENT, "test sequences' folder (default: dataset_root)")
    test_dataset_partition: str = key(ABSENT, "test partition file (default: dataset_partition)")
    synthetic: dict | None = key(
        None,
        "gaitgen: generate the dataset here on first use, e.g. {generator: synthgait, subjects: 40}",
        opengait=False,
    )
    self_supervised: bool = key(
        False, "training: every sequence is its own class (label-type-view), labels unused"
    )


# Upper bounds of the sizes a sampler section sets, checked before any batch is allocated (a
# frame count of 10^9 would otherwise ask for gigabytes per sequence and fail deep in torch).
# MOST_FRAMES: frames per sequence, far above any real gait dataset (CASIA-B, OU-MVLP, GREW and
# Gait3D sequences hold tens to a few hundred frames; 100000 is over an hour at 25 fps), while
# one 64x64 uint8 sequence of that length is 410 MB, which a machine can hold.
MOST_FRAMES = 100_000
# MOST_BATCH: each number of batch_size (P identities, K sequences each, or test sequences per
# batch), far above the largest published settings (P 32, K 16; a few hundred at test time).
MOST_BATCH = 10_000


# OpenGait's sample_type values, <how many>_<order> (runtime/data/frames.py draws them)
SAMPLE_MODES = ("fixed", "unfixed", "all")
SAMPLE_ORDERS = ("ordered", "unordered", "allordered")
SAMPLE_TYPES = [f"{m}_{o}" for m in SAMPLE_MODES for o in SAMPLE_ORDERS]


@dataclass
class SamplerCfg:
    """A ``sampler`` section: which sequences form a batch and which of their frames."""

    type: str = key("TripletSampler", "sampler class (TripletSampler, InferenceSampler, ...)")
    batch_size: int | list[int] = key(
        [8, 16],
        "TripletSampler: [P identities, K sequences each]; others: sequences",
        minimum=1,
        maximum=MOST_BATCH,
    )
    batch_shuffle: bool = key(False, "shuffle the sequences within each batch")
    sample_type: str = key(
        "fixed_unordered",
        "frames per sequence: fixed|unfixed|all, each ordered|unordered|allordered",
        choices=SAMPLE_TYPES,
    )
    frames_num_fixed: int = key(
        30, "frames per sequence for fixed_*", minimum=1, maximum=MOST_FRAMES
    )
    frames_num_max: int = key(
        50, "most frames per sequence for unfixed_*", minimum=1, maximum=MOST_FRAMES
    )
    frames_num_min: int = key(
        25, "fewest frames per sequence for unfixed_*", minimum=1, maximum=MOST_FRAMES
    )
    frames_skip_num: int = key(
        ABSENT, "*_ordered: extra frames in the window (default 0)", minimum=0, maximum=MOST_FRAMES
    )
    frames_all_limit: int = key(
        ABSENT,
        "all_*: at most this many frames per sequence (-1: no limit)",
        minimum=-1,
        maximum=MOST_FRAMES,
    )


@dataclass
class EvaluatorSamplerCfg(SamplerCfg):
    """``evaluator_cfg.sampler``: test batches, whole sequences by default."""

    type: str = key("InferenceSampler", "sampler class (InferenceSampler shards the test set)")
    batch_size: int | list[int] = key(
        4, "sequences per test batch (all processes together)", minimum=1, maximum=MOST_BATCH
    )
    sample_type: str = key(
        "all_ordered",
        "frames per sequence: all_ordered tests on whole sequences",
        choices=SAMPLE_TYPES,
    )
    frames_num_fixed: int = key(
        ABSENT, "frames per sequence for fixed_*", minimum=1, maximum=MOST_FRAMES
    )
    frames_num_max: int = key(
        ABSENT, "most frames per sequence for unfixed_*", minimum=1, maximum=MOST_FRAMES
    )
    frames_num_min: int = key(
        ABSENT, "fewest frames per sequence for unfixed_*", minimum=1, maximum=MOST_FRAMES
    )
    frames_all_limit: int = key(
        720,
        "all_*: at most this many frames per sequence (-1: no limit)",
        minimum=-1,
        maximum=MOST_FRAMES,
    )


_TRANSFORM_DOC = "one {type: Name, ...} per modality (a list) or one for all"
_HINT_DOC = (
    "0: the latest checkpoint of this run; N: iteration N; a path: that file "
    "(a list: one per part, for models that read it so, e.g. GaitEdge)"
)


# trainer_cfg.loggers: each logger's name -> (the module it needs, the pip extra installing it)
LOGGERS: dict[str, tuple[str, str]] = {
    "tensorboard": ("tensorboard", "tensorboard"),
    "wandb": ("wandb", "wandb"),
    "mlflow": ("mlflow", "mlflow"),
}


@dataclass
class TrainerCfg:
    """``trainer_cfg``: the training loop."""

    enable_float16: bool = key(True, "autocast + grad scaling on CUDA; ignored on the CPU")
    with_test: bool = key(False, "test at every save_iter")
    fix_BN: bool = key(False, "keep BatchNorm layers in eval mode while training")
    find_unused_parameters: bool = key(False, "DDP's find_unused_parameters")
    log_iter: int = key(100, "log the losses every N iterations", above=0)
    restore_ckpt_strict: bool = key(True, "a restored checkpoint must fit the model exactly")
    optimizer_reset: bool = key(False, "do not restore the optimizer state from the checkpoint")
    scheduler_reset: bool = key(False, "do not restore the scheduler state from the checkpoint")
    restore_hint: int | str | list[str] = key(0, _HINT_DOC, minimum=0)
    save_iter: int = key(2000, "save a checkpoint every N iterations", above=0)
    save_name: str = key("tmp", "run name: output/<dataset>/<model>/<save_name>/")
    sync_BN: bool = key(False, "SyncBatchNorm across processes")
    total_iter: int = key(80000, "train until this iteration", above=0)
    sampler: SamplerCfg = field(
        default_factory=lambda: SamplerCfg(), metadata={"doc": "training batches"}
    )
    transform: dict | list | None = key([{"type": "BaseSilCuttingTransform"}], _TRANSFORM_DOC)
    seed: int = key(
        0, "gaitgen: seed of the model init and of the batch sampler", minimum=0, opengait=False
    )
    channels_last: bool = key(
        False,
        "gaitgen: NHWC layout on CUDA (GaitBase fp16 on an H200: 100 ms/step instead of 211)",
        opengait=False,
    )
    log_to_file: bool = key(ABSENT, "gaitgen: also log to <run>/logs/", opengait=False)
    T_max_iter: int = key(
        ABSENT,
        "SwinGait: iterations of its cosine learning-rate decay (the model reads it; default "
        "total_iter)",
        above=0,
    )
    grad_accumulation: int = key(
        1,
        "gaitgen: P x K batches whose gradients make one optimizer step (an iteration)",
        minimum=1,
        opengait=False,
    )
    ema_decay: float | None = key(
        None,
        "gaitgen: keep an EMA of the weights (e.g. 0.999), saved and tested beside them",
        above=0,
        maximum=1,
        opengait=False,
    )
    keep_last: int = key(
        0,
        "gaitgen: keep the last N checkpoints (and the best); 0 keeps all",
        minimum=0,
        opengait=False,
    )
    best_metric: str | None = key(
        None,
        "gaitgen: a with_test result (e.g. NM/rank1) whose best checkpoint keep_last keeps",
        opengait=False,
    )
    best_mode: str = key(
        "max",
        "gaitgen: whether best_metric is best high or low",
        choices=["max", "min"],
        opengait=False,
    )
    early_stop_patience: int = key(
        0,
        "gaitgen: stop after N tests without a better best_metric; 0: never",
        minimum=0,
        opengait=False,
    )
    # -- experiment loggers (runtime/engine/loggers.py) ---------------------------------------
    loggers: list[str] = key(
        [],
        "gaitgen: also log the scalars, the resolved config and the test results to these "
        "(tensorboard, wandb, mlflow; several at once); []: TensorBoard when installed",
        choices=list(LOGGERS),
        opengait=False,
    )


@dataclass
class EvaluatorCfg:
    """``evaluator_cfg``: testing and evaluation."""

    enable_float16: bool = key(False, "autocast at test time on CUDA")
    restore_ckpt_strict: bool = key(True, "the checkpoint must fit the model exactly")
    restore_hint: int | str | list[str] = key(0, _HINT_DOC, minimum=0)
    save_name: str = key("tmp", "run whose checkpoints are tested")
    eval_func: str = key("evaluate_indoor_dataset", "OpenGait's evaluation function name")
    sampler: EvaluatorSamplerCfg = field(
        default_factory=lambda: EvaluatorSamplerCfg(), metadata={"doc": "test batches"}
    )
    transform: dict | list | None = key([{"type": "BaseSilCuttingTransform"}], _TRANSFORM_DOC)
    metric: str = key("euc", "distance: euc or cos", choices=["euc", "cos"])
    cross_view_gallery: bool = key(
        False, "gaitgen: also report the cross-view gallery", opengait=False
    )
    protocol: str | dict = key(
        ABSENT, "gaitgen: a preset name or a custom protocol mapping", opengait=False
    )
    rerank: bool | dict = key(ABSENT, "re-ranking: true or {k1, k2, lambda_value}")
    probe_set: str = key(ABSENT, "Gait3D-style probe list (a JSON file)")
    use_ema: bool = key(
        False,
        "gaitgen: test the EMA of the weights (trainer_cfg.ema_decay) instead of the weights",
        opengait=False,
    )
    limit_identities: int = key(
        ABSENT,
        "gaitgen: test on the first N test identities only (gaitgen test --limit N)",
        opengait=False,
        minimum=1,
    )


@dataclass
class OptimizerKeys:
    """gaitgen's keys of ``optimizer_cfg``: read by the training step, not passed to the solver
    (whichever ``solver`` the section names)."""

    clip_grad_norm: float | None = key(
        None,
        "gaitgen: scale the gradients so that their total L2 norm is at most this",
        above=0,
        opengait=False,
    )
    clip_grad_value: float | None = key(
        None, "gaitgen: clamp every gradient element to [-this, this]", above=0, opengait=False
    )


@dataclass
class SchedulerKeys:
    """gaitgen's keys of ``scheduler_cfg``: a linear warmup before the named scheduler's
    rates, not passed to the scheduler (whichever ``scheduler`` the section names)."""

    warmup_iters: int = key(
        0,
        "gaitgen: scale the scheduled rate from warmup_factor up to 1 over N iterations",
        minimum=0,
        opengait=False,
    )
    warmup_factor: float = key(
        0.001,
        "gaitgen: the rate's share at the first warmup iteration",
        above=0,
        maximum=1,
        opengait=False,
    )


# gaitgen's own keys of the sections that belong to a class, by section
CLASS_SECTION_KEYS: dict[str, type] = {
    "optimizer_cfg": OptimizerKeys,
    "scheduler_cfg": SchedulerKeys,
}


def class_section_keys(section: str) -> tuple[str, ...]:
    """gaitgen's own keys of a class section (``optimizer_cfg``...): not the class's arguments."""
    cls = CLASS_SECTION_KEYS.get(section)
    return tuple(f.name for f in dataclasses.fields(cls)) if cls is not None else ()


def class_section_settings(section: str, node: Any) -> dict[str, Any]:
    """gaitgen's own keys of a class section, each as the config sets it or its default."""
    node = node if isinstance(node, dict) else {}
    return {
        f.name: node.get(f.name, f.default) for f in dataclasses.fields(CLASS_SECTION_KEYS[section])
    }


# the dataclass of each checked section, by its dotted path
SECTIONS: dict[str, type] = {
    "data_cfg": DataCfg,
    "trainer_cfg": TrainerCfg,
    "trainer_cfg.sampler": SamplerCfg,
    "evaluator_cfg": EvaluatorCfg,
    "evaluator_cfg.sampler": EvaluatorSamplerCfg,
}

TOP_SECTIONS = (
    "data_cfg",
    "model_cfg",
    "optimizer_cfg",
    "scheduler_cfg",
    "trainer_cfg",
    "evaluator_cfg",
)
"""The top-level sections that are mappings (``loss_cfg`` may also be a list)."""

REQUIRED_SECTIONS = (
    "data_cfg",
    "loss_cfg",
    "model_cfg",
    "optimizer_cfg",
    "scheduler_cfg",
    "trainer_cfg",
    "evaluator_cfg",
)

# sections that belong to a class; their keys are that class's parameters
CLASS_SECTION_DEFAULTS: dict[str, Any] = {
    "loss_cfg": [
        {"loss_term_weight": 1.0, "margin": 0.2, "type": "TripletLoss", "log_prefix": "triplet"}
    ],
    "model_cfg": {"model": "Baseline"},
    "optimizer_cfg": {"lr": 0.1, "momentum": 0.9, "solver": "SGD", "weight_decay": 0.0005},
    "scheduler_cfg": {
        "gamma": 0.1,
        "milestones": [20000, 40000, 60000],
        "scheduler": "MultiStepLR",
    },
}

# sampler keys read by the collate function (frame sampling) or the loader, not passed to a
# sampler's constructor
FRAME_SAMPLING_KEYS = (
    "sample_type",
    "frames_num_fixed",
    "frames_num_min",
    "frames_num_max",
    "frames_skip_num",
    "frames_all_limit",
)


@dataclass(frozen=True)
class IgnoredKey:
    """A key OpenGait's configs carry that OpenGait does not use; accepted with a warning.

    Attributes:
        section: where it appears: a section path (``trainer_cfg``), ``optimizer_cfg`` or
            ``transform`` (any transform entry).
        key: the key.
        why: why OpenGait (and so gaitgen) ignores it.
        closest: the known key to point the user to.
    """

    section: str
    key: str
    why: str
    closest: str


OPENGAIT_IGNORED: tuple[IgnoredKey, ...] = (
    IgnoredKey(
        "trainer_cfg",
        "fix_layers",
        "in OpenGait's GLN configs, but no OpenGait code reads it",
        "fix_BN",
    ),
    IgnoredKey(
        "trainer_cfg",
        "enable_distributed",
        "OpenGait always runs distributed and never reads it; gaitgen follows --nproc",
        "sync_BN",
    ),
    IgnoredKey(
        "evaluator_cfg",
        "enable_distributed",
        "OpenGait always runs distributed and never reads it; gaitgen follows --nproc",
        "enable_float16",
    ),
    IgnoredKey(
        "trainer_cfg.sampler",
        "points_in_use",
        "read by OpenGait's point-cloud collate only; gaitgen samples no points",
        "frames_num_fixed",
    ),
    IgnoredKey(
        "evaluator_cfg.sampler",
        "points_in_use",
        "read by OpenGait's point-cloud collate only; gaitgen samples no points",
        "frames_all_limit",
    ),
    # OpenGait passes a class only the keys its constructor takes and drops the rest
    IgnoredKey(
        "optimizer_cfg",
        "momentum",
        "OpenGait drops it for optimizers without momentum (gaitpart.yaml gives Adam one)",
        "betas",
    ),
    IgnoredKey(
        "loss_cfg",
        "loss_term_weights",
        "OpenGait drops a loss's unknown keys (its skeletongait configs misspell "
        "loss_term_weight, so those losses weigh 1.0)",
        "loss_term_weight",
    ),
    IgnoredKey(
        "loss_cfg",
        "lazy",
        "OpenGait drops a loss's unknown keys (its lidargaitv2 configs give TripletLoss one)",
        "margin",
    ),
    IgnoredKey(
        "transform",
        "prob",
        "OpenGait drops it: MSGGTransform takes joint_format (msgg_*.yaml give it prob, so "
        "OpenGait applies the default coco joint mask)",
        "joint_format",
    ),
    IgnoredKey(
        "data_cfg",
        "frame_threshold",
        "in OpenGait's GaitGraph and GaitTR configs, but no OpenGait code reads it",
        "data_in_use",
    ),
    IgnoredKey(
        "data_cfg",
        "train_data_preload",
        "in OpenGait's FoundationGait configs, but no OpenGait code reads it",
        "cache",
    ),
    IgnoredKey(
        "transform",
        "img_w",
        "OpenGait drops it: no transform takes a frame width (gln_phase1.yaml gives one)",
        "cutting",
    ),
)


def data_blocks(cfgs: Any) -> list[dict[str, Any]]:
    """The dataset blocks of a config: ``data_cfg`` itself, or each entry of a ``data_cfg``
    list (OpenGait's several-dataset configs, e.g. FoundationGait's pre-training).

    The training set is the union of every block's train set; the test phase and the run
    folder's name read the first block (as OpenGait tests on ``data_cfg[0]``), see
    :func:`test_data_cfg`.
    """
    value = cfgs.get("data_cfg") if isinstance(cfgs, dict) else None
    if isinstance(value, list):
        return [block for block in value if isinstance(block, dict)]
    return [value] if isinstance(value, dict) else []


def named_data_blocks(data_cfg: Any) -> list[tuple[str, dict[str, Any]]]:
    """Each dataset block of a ``data_cfg`` value (a mapping or a list of them) with its key
    for messages: ``data_cfg``, or ``data_cfg[i]`` in a list."""
    if isinstance(data_cfg, list):
        return [(f"data_cfg[{i}]", b) for i, b in enumerate(data_cfg) if isinstance(b, dict)]
    return [("data_cfg", data_cfg)] if isinstance(data_cfg, dict) else []


def datasets_name(data_cfg: Any) -> str | None:
    """The name a run folder and results give the data: ``dataset_name``, or the names of a
    list's blocks joined with ``_`` (as OpenGait names it)."""
    names = [str(block.get("dataset_name", "")) for _, block in named_data_blocks(data_cfg)]
    if isinstance(data_cfg, list):
        return "_".join(names)
    return data_cfg.get("dataset_name") if isinstance(data_cfg, dict) else None


def test_data_cfg(cfgs: Any) -> dict[str, Any]:
    """The dataset block the test phase reads: ``data_cfg``, or the first of a list."""
    blocks = data_blocks(cfgs)
    return blocks[0] if blocks else {}


def section_fields(section: str) -> list[dataclasses.Field]:
    """The fields (keys) of a checked section, e.g. ``"trainer_cfg.sampler"``."""
    return list(dataclasses.fields(SECTIONS[section]))


def known_keys(section: str) -> set[str]:
    """The keys a checked section may hold (``""``: the top level)."""
    if section == "":
        return set(REQUIRED_SECTIONS)
    return {f.name for f in section_fields(section)}


def ignored_in(section: str) -> dict[str, IgnoredKey]:
    """The OpenGait-ignored keys of a section, by key."""
    return {item.key: item for item in OPENGAIT_IGNORED if item.section == section}


def _section_defaults(cls: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name == "sampler":
            out[f.name] = _section_defaults(SAMPLER_CLASSES[cls])
            continue
        value = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
        if value is not ABSENT:
            out[f.name] = value
    return out


SAMPLER_CLASSES: dict[type, type] = {TrainerCfg: SamplerCfg, EvaluatorCfg: EvaluatorSamplerCfg}


def default_sections() -> dict[str, Any]:
    """A fresh copy of the packaged defaults (what every user config is merged over)."""
    return {
        "data_cfg": _section_defaults(DataCfg),
        "evaluator_cfg": _section_defaults(EvaluatorCfg),
        **copy.deepcopy(CLASS_SECTION_DEFAULTS),
        "trainer_cfg": _section_defaults(TrainerCfg),
    }


def defaults_yaml() -> str:
    """The defaults as YAML, each key with its doc as a comment: the text of defaults.yaml."""
    import yaml

    def scalar(value: Any) -> str:
        return (
            yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("\n...")
        )

    def render(cls: type, indent: str) -> list[str]:
        lines = []
        for f in dataclasses.fields(cls):
            doc = f.metadata.get("doc", "")
            if f.name == "sampler":
                lines.append(f"{indent}{f.name}:  # {doc}")
                lines += render(SAMPLER_CLASSES[cls], indent + "  ")
                continue
            value = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            shown = "(not set)" if value is ABSENT else scalar(value)
            prefix = "# " if value is ABSENT else ""
            lines.append(f"{indent}{prefix}{f.name}: {shown}  # {doc}")
        return lines

    out = [
        "# gaitgen's packaged defaults: every user config is merged over these values.",
        "# GENERATED from runtime/config/schema.py (python -m gaitgen.runtime.config);",
        "# edit the schema, not this file (tests/test_config_schema.py keeps them equal).",
        "# Dicts merge key by key; lists and scalars replace. A section that names another",
        "# class than the default (optimizer_cfg.solver, scheduler_cfg.scheduler, a sampler's",
        "# type, model_cfg.model) replaces the default section, so one class's parameters never",
        "# leak into another's. Key names and meanings are OpenGait's (configs/default.yaml",
        '# there); gaitgen\'s own additions say "gaitgen". Commented-out keys are known but',
        "# unset: the code reading them has its own fallback.",
        "",
    ]
    for name, cls in (("data_cfg", DataCfg), ("evaluator_cfg", EvaluatorCfg)):
        out += [f"{name}:", *render(cls, "  "), ""]
    for name, value in CLASS_SECTION_DEFAULTS.items():
        out.append(yaml.safe_dump({name: value}, sort_keys=False).rstrip())
        if name in CLASS_SECTION_KEYS:  # not merged: a section naming another class keeps them
            out.append(f"  # gaitgen's keys of any {name} (shown with their defaults):")
            for f in dataclasses.fields(CLASS_SECTION_KEYS[name]):
                out.append(f"  # {f.name}: {scalar(f.default)}  # {f.metadata['doc']}")
        out.append("")
    out += ["trainer_cfg:", *render(TrainerCfg, "  ")]
    out += ["", "# OpenGait keys accepted with a warning and ignored:"]
    for item in OPENGAIT_IGNORED:
        out.append(f"#   {item.section}.{item.key}: {item.why}")
    return "\n".join(out) + "\n"
