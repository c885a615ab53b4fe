"""The model zoo, tested from the component table: every built-in model and every zoo config.

A model added to ``runtime/models/`` with its configs in ``runtime/zoo/`` is tested here
without anyone writing a test for it: its starter config trains two iterations and tests
through ``gaitgen train`` / ``gaitgen test`` (on a small SynthGait it generates), its full-size config
builds the size the README states, and it is exported under its OpenGait name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from gaitgen.runtime.components import get
from gaitgen.runtime.components.scan import builtin_components
from gaitgen.runtime.config import load_config
from gaitgen.runtime.engine.parameters import config_parameter_count
from gaitgen.runtime.synth.layouts import DEFAULT_LAYOUT, get_layout
from gaitgen.runtime.testing import check_model
from gaitgen.runtime.zoo import MODELS, ZOO_DIR, format_count, zoo_configs
from typer.testing import CliRunner

from gaitgen.cli.app import app

STARTERS = [c for c in zoo_configs() if c.starter]
FULL = [c for c in zoo_configs() if not c.starter]
# a second phase restores the first phase's checkpoint (the zoo config names its path)
FIRST_PHASE = {
    "gln_phase2.yaml": "gln_phase1.yaml",
    "swingait.yaml": "deepgaitv2.yaml",
    "foundationgait_linear_probe.yaml": "foundationgait.yaml",
    "gaitssb_finetune.yaml": "gaitssb_pretrain.yaml",
    "foundationgait_scoliosis_probe.yaml": "foundationgait.yaml",
}
# built-in models whose starter waits for SynthGait in their modality (Segmentation: RGB
# frames beside the silhouettes)
NO_STARTER_YET = {"Segmentation"}
# what `gaitgen test` reports on a starter's SynthGait layout (data_cfg.synthetic.layout):
# the results' protocol, their conditions, a word of the printed table
TESTED_AS = {
    "casia-b": ("CASIA-B", {"NM", "BG", "CL"}, "NM"),  # SynthGait is evaluated as CASIA-B is
    "scoliosis": ("Scoliosis1K", {"scoliosis"}, "accuracy"),  # evaluate_scoliosis
}


def test_every_builtin_model_is_in_the_zoo_and_exported() -> None:
    import gaitgen.runtime as runtime
    import gaitgen.runtime.modules as modules

    builtin = {c.name for c in builtin_components("model")}
    assert builtin == set(MODELS)
    assert {c.model for c in zoo_configs()} == builtin
    # Baseline's starter: the project's own
    assert {c.model for c in STARTERS} >= builtin - {"Baseline"} - NO_STARTER_YET
    assert not NO_STARTER_YET & {c.model for c in STARTERS}, "has a starter now: drop it"
    for name in builtin:
        assert getattr(runtime, name) is get("model", name, None)
    assert set(modules.__all__) <= set(runtime.__all__)
    for name in modules.__all__:
        assert getattr(runtime, name) is getattr(modules, name)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_full_size_parameters_are_the_ones_the_readme_states(name: str) -> None:
    entry = MODELS[name]
    cfgs = load_config(ZOO_DIR / entry.full_config)
    assert cfgs["model_cfg"]["model"] == name
    # sizes only (the meta device): no memory for GaitGL's 339 M GREW variant
    assert config_parameter_count(cfgs, None) == entry.parameters
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"| {format_count(entry.parameters)} |" in readme, f"README's model table: {name}"


@pytest.mark.parametrize("zoo", FULL, ids=lambda c: c.path.name)
def test_full_size_configs_build(zoo) -> None:
    cfgs = load_config(zoo.path)
    with torch.device("meta"):
        model = get("model", zoo.model, None)(cfgs, is_training=True)
    # the smallest full-size model, GaitGraph1 on CASIA-B, has 0.32 M parameters
    assert sum(p.numel() for p in model.parameters()) > 300_000


# the largest starters (about 2 s each on a quiet CPU, 10x that on a busy one) run in the
# slow suite; the other starters of the same models keep DeepGaitV2 in the default run.
# Of the 2-D pose models, GaitGraph2 and MSGG stay in the default run (GaitGraph1 and GaitTR
# read the same data through the same transforms); SkeletonGait++, the one skeleton-map model,
# keeps its model checks there, its train-and-test through the CLI (a minute on a quiet CPU)
# is slow
HEAVY_STARTERS = {"deepgaitv2.yaml", "swingait.yaml", "gaitgraph1.yaml", "gaittr.yaml"}
HEAVY_TRAINING = {"gaitgraph1.yaml", "gaittr.yaml", "skeletongait_pp.yaml"}


@pytest.mark.parametrize(
    "zoo",
    [
        pytest.param(c, marks=[pytest.mark.slow] if c.path.name in HEAVY_STARTERS else [])
        for c in STARTERS
    ],
    ids=lambda c: c.path.name,
)
def test_starter_model_passes_the_model_checks(zoo) -> None:
    """Every parameter gets a gradient, the loss falls on one batch, seqL keeps sequences apart
    (testing.check_model, the check a generated model's test runs)."""
    output = check_model(zoo.model, zoo.path)
    assert output["inference_feat"]["embeddings"].dim() == 3


@pytest.fixture(scope="module")
def zoo_project(tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp("zoo")
    result = CliRunner().invoke(app, ["init", str(parent / "zoo"), "--defaults"])
    assert result.exit_code == 0, result.output
    return parent / "zoo"


def _small_synthgait(root: Path, cfgs: dict | None = None) -> list[str]:
    """The starter's own SynthGait, generated on first use, shrunk: 5 subjects (3 train),
    3 views (a layout whose views are no angles keeps its own), 12 frames, in the starter's
    layout and modalities (one folder per layout and set of them); 2 iterations of 2 x 2
    sequences (4 drawn at random for a CommonSampler)."""
    synthetic = (cfgs or {}).get("data_cfg", {}).get("synthetic", {})
    modalities = synthetic.get("modalities")
    if modalities:
        names = modalities.split(",") if isinstance(modalities, str) else modalities
        root = root.with_name(f"{root.name}-{'-'.join(names)}")
    layout = get_layout(synthetic.get("layout"))
    if layout.name != DEFAULT_LAYOUT:
        root = root.with_name(f"{root.name}-{layout.name}")
    sampler = (cfgs or {}).get("trainer_cfg", {}).get("sampler", {})
    settings = {
        "data_cfg.dataset_root": root,
        "data_cfg.dataset_partition": root / "partition.json",
        "data_cfg.synthetic.subjects": 5,
        "data_cfg.synthetic.frames": 12,
        **({"data_cfg.synthetic.views": "000,090,180"} if layout.views else {}),
        "data_cfg.num_workers": 0,
        "trainer_cfg.total_iter": 2,
        "trainer_cfg.save_iter": 2,
        "trainer_cfg.log_iter": 1,
        "trainer_cfg.sampler.batch_size": (
            4 if sampler.get("type") == "CommonSampler" else "[2,2]"
        ),
        "evaluator_cfg.sampler.batch_size": 8,
    }
    return [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]


def _train(project: Path, config: str, overrides: list[str], extra: list[str] = ()) -> str:
    result = CliRunner().invoke(app, ["train", f"configs/{config}", *overrides, *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    "zoo",
    [
        pytest.param(c, marks=[pytest.mark.slow] if c.path.name in HEAVY_TRAINING else [])
        for c in STARTERS
    ],
    ids=lambda c: c.path.name,
)
def test_starter_config_trains_and_tests(zoo, zoo_project: Path, monkeypatch):
    monkeypatch.chdir(zoo_project)
    cfgs = load_config(ZOO_DIR / zoo.path.name)
    overrides = _small_synthgait(zoo_project / "data" / "synthgait5", cfgs)
    for name in (FIRST_PHASE.get(zoo.path.name), zoo.path.name):
        if name is not None:
            (zoo_project / "configs" / name).write_text((ZOO_DIR / name).read_text())
    extra = []
    first = FIRST_PHASE.get(zoo.path.name)
    if first is not None:  # phase 2 from phase 1, as the zoo config says, at 2 iterations
        first_cfgs = load_config(zoo_project / "configs" / first)
        save_name = first_cfgs["trainer_cfg"]["save_name"]
        model = first_cfgs["model_cfg"]["model"]
        folder = Path("output", "SynthGait", model, save_name, "checkpoints")
        if not (folder / f"{save_name}-00002.pt").is_file():  # on its own SynthGait
            _train(
                zoo_project,
                first,
                _small_synthgait(zoo_project / "data" / "synthgait5", first_cfgs),
            )
        extra = ["--set", f"trainer_cfg.restore_hint={folder}/{save_name}-00002.pt"]
    output = _train(zoo_project, zoo.path.name, overrides, ["--overwrite", *extra])
    assert "iteration 2:" in output
    if first is not None:
        assert f"{save_name}-00002.pt" in output  # restored from the first phase
    tested = CliRunner().invoke(app, ["test", f"configs/{zoo.path.name}"] + overrides)
    assert tested.exit_code == 0, tested.output
    layout = get_layout(cfgs["data_cfg"]["synthetic"].get("layout"))
    protocol, conditions, word = TESTED_AS[layout.name]
    assert word in tested.output and "at iteration 2" in tested.output
    cfgs = load_config(zoo_project / "configs" / zoo.path.name)
    run_dir = zoo_project / "output" / "SynthGait" / zoo.model / cfgs["trainer_cfg"]["save_name"]
    assert (run_dir / "checkpoints" / f"{cfgs['trainer_cfg']['save_name']}-00002.pt").is_file()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["protocol"] == protocol
    assert set(results["conditions"]) == conditions
    if zoo.model in FROZEN_AFTER_RESTORE:
        second = run_dir / "checkpoints" / f"{cfgs['trainer_cfg']['save_name']}-00002.pt"
        _assert_started_from(folder / f"{save_name}-00002.pt", second, zoo.model, cfgs)


# a second phase whose layers that never train must hold the first phase's trained weights
FROZEN_AFTER_RESTORE = {
    # the stem (run without gradient) and layer1 (backbone_lr 0), as OpenGait's fine-tune
    "GaitSSB_Finetune": (
        "Backbone.forward_block.conv1.conv.weight",
        "Backbone.forward_block.layer1.0.conv1.weight",
        "Backbone.forward_block.layer1.0.bn1.running_mean",
    ),
}


def _assert_started_from(first: Path, second: Path, model: str, cfgs: dict) -> None:
    """The second phase really restored the first: its frozen weights are the first phase's
    trained ones, which differ from what the model starts with when nothing is restored."""
    from gaitgen.runtime.checkpoint import checkpoint_weights, load_checkpoint

    before = checkpoint_weights(load_checkpoint(first))
    after = checkpoint_weights(load_checkpoint(second))
    torch.manual_seed(0)  # the trainer's seed: the weights a run without restore starts from
    fresh = get("model", model, None)(cfgs, is_training=True).state_dict()
    for key in FROZEN_AFTER_RESTORE[model]:
        assert torch.equal(after[key], before[key]), f"{key}: not the first phase's"
        assert not torch.equal(before[key], fresh[key]), f"{key}: the first phase left it as built"


def test_list_shows_the_zoo_with_sizes_and_no_helper_layers() -> None:
    result = CliRunner().invoke(app, ["list", "--kind", "model"])
    assert result.exit_code == 0, result.output
    assert f"models ({len(MODELS)})" in result.output
    for name, entry in MODELS.items():
        line = next(line for line in result.output.splitlines() if f" {name} " in line)
        assert format_count(entry.parameters) in line
    for helper in ("GLConv", "TemporalFeatureAggregator", "SetBlockWrapper", "Plain"):
        assert helper not in result.output
