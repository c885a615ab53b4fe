"""The config schema: one source for defaults, known keys and types; checks at load."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
import torch
import yaml
from gaitgen.runtime.config import DEFAULTS_PATH, ignored_keys, load_config, read_yaml, schema
from gaitgen.runtime.data.frames import FrameSampling
from gaitgen.runtime.errors import ConfigError

SHARED = Path(__file__).resolve().parents[2] / "shared"
FAMILIES = ("gaitbase", "gaitset", "gaitpart", "gln", "gaitgl", "deepgaitv2", "swingait")
MINIMAL = "model_cfg: {model: Baseline}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_defaults_yaml_is_generated_from_the_schema() -> None:
    assert (
        DEFAULTS_PATH.read_text() == schema.defaults_yaml()
    ), "regenerate: python -m gaitgen.runtime.config > runtime/config/defaults.yaml"
    assert read_yaml(DEFAULTS_PATH) == schema.default_sections()
    text = DEFAULTS_PATH.read_text()
    for cls in (schema.DataCfg, schema.TrainerCfg, schema.SamplerCfg):
        for f in dataclasses.fields(cls):
            assert f.metadata["doc"] in text  # every key documented where users read defaults


def test_known_keys_sampler_keys_and_frame_fields_all_come_from_the_schema() -> None:
    from gaitgen.runtime.data.loader import _SAMPLING_KEYS

    sampler_keys = schema.known_keys("evaluator_cfg.sampler")
    assert schema.known_keys("trainer_cfg") == {
        f.name for f in dataclasses.fields(schema.TrainerCfg)
    }
    assert set(_SAMPLING_KEYS) - {"batch_shuffle"} <= sampler_keys | set(
        schema.ignored_in("trainer_cfg.sampler")
    )
    frame_fields = {f.name for f in dataclasses.fields(FrameSampling)} - {
        "mode",
        "ordered",
        "all_ordered",  # parsed from sample_type, as mode and ordered
    }
    assert frame_fields <= set(schema.FRAME_SAMPLING_KEYS) <= sampler_keys


@pytest.mark.parametrize(
    "overrides, pattern",
    [
        (
            ["trainer_cfg.total_iter=abc"],
            r"^--set 'trainer_cfg\.total_iter=abc': trainer_cfg\.total_iter: expected a whole "
            r"number, got 'abc' \(str\)$",
        ),
        (["trainer_cfg.total_iter=-5"], r"trainer_cfg\.total_iter: expected a whole number > 0"),
        (["trainer_cfg.save_iter=0"], r"trainer_cfg\.save_iter: expected .* > 0"),
        (["data_cfg.num_workers=-1"], r"data_cfg\.num_workers: expected .* >= 0, got -1"),
        (["trainer_cfg.sampler.batch_size=[0, 4]"], r"batch_size: expected .* >= 1"),
        (["trainer_cfg.enable_float16=3"], r"enable_float16: expected true or false, got 3"),
        (["evaluator_cfg.metric=cosine"], r"metric: expected one of euc, cos, got 'cosine'"),
        (
            ["optimizer_cfg.lr=fast"],
            r"^--set 'optimizer_cfg\.lr=fast': optimizer_cfg\.lr: expected a number .*'fast'",
        ),
        (["scheduler_cfg.gamma=[1]"], r"scheduler_cfg\.gamma: expected a number"),
        (["optimizer_cfg.lrr=0.1"], r"SGD has no parameter 'lrr' \(did you mean 'lr'"),
        (["loss_cfg=5"], r"^--set 'loss_cfg=5': loss_cfg: expected a loss .*got 5 \(int\)$"),
        (["loss_cfg.0.margin=x", "loss_cfg.0.type=7"], r"loss_cfg\[0\]\.type: expected a string"),
        (["loss_cfg.5.margin=1"], r"loss_cfg is a list of 1 entry; use an index 0\.\.0"),
        (["trainer_cfg.total_iter=[1, 2"], r"^--set 'trainer_cfg\.total_iter=\[1, 2': the value "),
        (["trainer_cfg.fix_layer=true"], r"unknown key 'trainer_cfg\.fix_layer'"),
        (["trainer_cfg.transform=5"], r"trainer_cfg\.transform: expected a transform"),
        (["model_cfg=3"], r"model_cfg: expected a mapping"),
    ],
)
def test_every_value_is_type_checked_at_load(
    tmp_path: Path, overrides: list[str], pattern: str
) -> None:
    with pytest.raises(ConfigError, match=pattern) as caught:
        load_config(write(tmp_path, MINIMAL), overrides)
    assert "\n" not in str(caught.value)


def test_a_wrong_type_in_the_file_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "trainer_cfg:\n  log_iter: 10\n  total_iter: many\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:4: trainer_cfg\.total_iter: expected a whole"):
        load_config(path)
    path = write(tmp_path, MINIMAL + "loss_cfg: 5\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:2: loss_cfg: expected a loss"):
        load_config(path)
    path = write(tmp_path, MINIMAL + "trainer_cfg: 5\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:2: trainer_cfg: expected a mapping"):
        load_config(path)


def test_inputs_from_is_checked_at_load_with_file_and_line(tmp_path: Path) -> None:
    losses = (
        "loss_cfg:\n"
        "  - {type: TripletLoss, log_prefix: triplet}\n"
        "  - type: CrossEntropyLoss\n"
        "    log_prefix: mine\n"
        "    inputs_from: {inputs_from}\n"
    )
    path = write(tmp_path, MINIMAL + losses.replace("{inputs_from}", "triplet"))
    assert load_config(path)["loss_cfg"][1]["inputs_from"] == "triplet"
    path = write(tmp_path, MINIMAL + losses.replace("{inputs_from}", "tripet"))
    with pytest.raises(
        ConfigError,
        match=r"c\.yaml:6: loss_cfg\[1\]\.inputs_from: 'tripet' is not the log_prefix of another "
        r"loss_cfg entry; the configured log_prefix values are \['triplet', 'mine'\]$",
    ):
        load_config(path)
    path = write(tmp_path, MINIMAL + losses.replace("{inputs_from}", "[triplet]"))
    with pytest.raises(ConfigError, match=r"c\.yaml:6: loss_cfg\[1\]\.inputs_from: expected a str"):
        load_config(path)
    with pytest.raises(
        ConfigError, match=r"^--set 'loss_cfg.1.inputs_from=mine': .*own log_prefix"
    ):
        load_config(
            write(tmp_path, MINIMAL + losses.replace("{inputs_from}", "triplet")),
            ["loss_cfg.1.inputs_from=mine"],
        )


def test_known_but_unset_keys_and_class_parameters_can_be_set(tmp_path: Path) -> None:
    cfgs = load_config(
        write(tmp_path, MINIMAL),
        ["trainer_cfg.T_max_iter=100", "optimizer_cfg.nesterov=true", "evaluator_cfg.rerank=true"],
    )
    assert cfgs["trainer_cfg"]["T_max_iter"] == 100
    assert cfgs["optimizer_cfg"]["nesterov"] is True
    assert "T_max_iter" not in load_config(write(tmp_path, MINIMAL))["trainer_cfg"]


OPENGAIT_STYLE = MINIMAL + """\
optimizer_cfg: {solver: Adam, lr: 0.0001, momentum: 0.9, weight_decay: 0}
trainer_cfg:
  fix_layers: false
  enable_distributed: true
  transform:
    - {type: BaseSilCuttingTransform, img_w: 64, prob: alphapose}
evaluator_cfg:
  enable_distributed: true
data_cfg:
  frame_threshold: 0
"""


def test_opengait_ignored_keys_are_data_and_one_warning_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, OPENGAIT_STYLE)
    found = {item.path: item for item in ignored_keys(path)}
    assert set(found) == {
        "optimizer_cfg.momentum",
        "trainer_cfg.fix_layers",
        "trainer_cfg.enable_distributed",
        "trainer_cfg.transform[0].img_w",
        "trainer_cfg.transform[0].prob",
        "evaluator_cfg.enable_distributed",
        "data_cfg.frame_threshold",
    }
    assert found["trainer_cfg.fix_layers"].closest == "fix_BN"
    assert found["trainer_cfg.fix_layers"].where.endswith("c.yaml:4")
    with caplog.at_level(logging.WARNING):
        load_config(path)
        load_config(path)  # the same config again (launcher, then the run): no repeat
    lines = [r.getMessage() for r in caplog.records if "is ignored" in r.getMessage()]
    assert len(lines) == 7
    assert any("momentum" in line and "Adam" in line for line in lines)
    # a typo of a real key stays an error, with the closest name
    with pytest.raises(
        ConfigError,
        match=r"unknown key .data_cfg.frame_threshhold. \(did you mean .frame_threshold.\?\)",
    ):
        load_config(write(tmp_path, MINIMAL + "data_cfg:\n  frame_threshhold: 0\n"))


def test_ignored_parameters_are_dropped_when_building(tmp_path: Path) -> None:
    from gaitgen.runtime.components import build
    from gaitgen.runtime.data.transforms import get_transform

    cfgs = load_config(write(tmp_path, OPENGAIT_STYLE))
    optimizer = build("optimizer", cfgs["optimizer_cfg"], [torch.nn.Parameter(torch.zeros(2))])
    assert isinstance(optimizer, torch.optim.Adam)
    transform = get_transform(cfgs["trainer_cfg"]["transform"], "trainer_cfg.transform")
    assert type(transform[0]).__name__ == "BaseSilCuttingTransform"
    with pytest.raises(ConfigError, match="no parameter 'img_h'"):
        get_transform({"type": "BaseSilCuttingTransform", "img_h": 64})


def test_a_model_missing_a_model_cfg_key_is_named(tmp_path: Path) -> None:
    from gaitgen.runtime.engine.build import build_model

    cfgs = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError, match=r"Baseline needs model_cfg\.backbone_cfg"):
        build_model(cfgs, None, True)


@pytest.mark.skipif(not (SHARED / "opengait").is_dir(), reason="needs ../shared/opengait")
@pytest.mark.parametrize("family", FAMILIES)
def test_opengait_configs_of_the_seven_families_load_unchanged(family: str) -> None:
    files = sorted((SHARED / "opengait" / "configs" / family).glob("*.yaml"))
    assert files
    for path in files:
        cfgs = load_config(path)
        raw = yaml.safe_load(path.read_text())
        assert cfgs["model_cfg"] == raw["model_cfg"]
        if "T_max_iter" in raw["trainer_cfg"]:  # SwinGait reads it for its schedule
            assert cfgs["trainer_cfg"]["T_max_iter"] == raw["trainer_cfg"]["T_max_iter"]


def test_launch_check_names_the_batch_and_the_process_counts_that_fit() -> None:
    from gaitgen.runtime.config.launch import check_launch

    cfgs = {"trainer_cfg": {"sampler": {"type": "TripletSampler", "batch_size": [3, 3]}}}
    with pytest.raises(ConfigError) as caught:
        check_launch(cfgs, "train", 2)
    message = str(caught.value)
    assert "P x K = 3 x 3 = 9 sequences cannot be split evenly over a world size of 2" in message
    assert "choose P x K divisible by 2" in message and "divides 9 (1, 3 or 9)" in message
    check_launch(cfgs, "train", 3)
    check_launch(cfgs, "test", 2)  # test batches are sharded unevenly: any count works


def test_nproc_2_config_error_is_one_line_before_torchrun(
    small_config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from gaitgen.cli.app import app

    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(small_config_file),
            "--nproc",
            "2",
            "--set",
            "trainer_cfg.sampler.batch_size=[3, 3]",
        ],
    )
    assert result.exit_code == 1
    assert "launching" not in result.output  # torchrun never started
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [lines[-1]] and "3 x 3 = 9 sequences" in lines[-1]
    assert "(1, 3 or 9)" in lines[-1]


def test_class_parameters_are_checked_against_their_defaults_when_built() -> None:
    from gaitgen.runtime.components import build
    from gaitgen.runtime.losses.triplet import TripletLoss

    with pytest.raises(ConfigError, match=r"loss_cfg\[0\]\.margin: expected a number"):
        build("loss", {"type": "TripletLoss", "margin": "wide"}, where="loss_cfg[0]")
    loss = build("loss", {"type": "TripletLoss", "margin": 1}, where="loss_cfg[0]")
    assert isinstance(loss, TripletLoss)  # an int is a number
    weights = [torch.nn.Parameter(torch.zeros(2))]
    adam = build("optimizer", {"solver": "Adam", "lr": 0.1, "momentum": 0.9}, weights)
    assert "momentum" not in adam.defaults  # dropped as OpenGait drops it (the load warned)
    with pytest.raises(
        ConfigError, match=r"scheduler_cfg\.momentum: LinearLR has no parameter 'momentum'"
    ):
        build("scheduler", {"scheduler": "LinearLR", "momentum": 0.9}, adam)


def test_a_dotted_path_sampler_may_take_its_own_keys(tmp_path: Path) -> None:
    text = MINIMAL + "trainer_cfg:\n  sampler: {type: mypkg.samplers.Mine, my_option: 3}\n"
    cfgs = load_config(write(tmp_path, text))
    assert cfgs["trainer_cfg"]["sampler"]["my_option"] == 3
    with pytest.raises(ConfigError, match=r"unknown key 'trainer_cfg\.sampler\.my_option'"):
        load_config(write(tmp_path, MINIMAL), ["trainer_cfg.sampler.my_option=3"])


def test_an_ignored_opengait_key_may_be_set_on_the_command_line() -> None:
    from gaitgen.runtime.config import apply_overrides, default_config

    cfgs = apply_overrides(default_config(), ["trainer_cfg.enable_distributed=true"])
    assert cfgs["trainer_cfg"]["enable_distributed"] is True
    with pytest.raises(ConfigError, match="unknown key 'trainer_cfg.enable_distributd'"):
        apply_overrides(default_config(), ["trainer_cfg.enable_distributd=true"])


@pytest.mark.parametrize(
    "key, value",
    [
        ("trainer_cfg.sampler.frames_num_fixed", "1000000000"),
        ("trainer_cfg.sampler.frames_num_max", "1000000000"),
        ("trainer_cfg.sampler.batch_size", "[1000000000, 4]"),
        ("evaluator_cfg.sampler.frames_all_limit", "1000000000"),
        ("evaluator_cfg.sampler.batch_size", "1000000000"),
    ],
)
@pytest.mark.parametrize("command", ["check", "train"])
def test_a_huge_frame_count_or_batch_is_one_line_before_any_allocation(
    small_config_file: Path,
    command: str,
    key: str,
    value: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 17, item 18: a frame count of 10^9 (or a batch of 10^9 sequences) is refused by the
    schema's upper bound, naming the --set and the key, instead of a bare RuntimeError from the
    allocator after the loader tried to build the batch."""
    from typer.testing import CliRunner

    from gaitgen.cli.app import app

    monkeypatch.chdir(tmp_path)  # a run that got past the check would write output/ here
    override = f"{key}={value}"
    result = CliRunner().invoke(app, [command, str(small_config_file), "--set", override])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        f"error: --set '{override}': {key}: expected "
        + ("a whole number" if "frames" in key else "a whole number or a list of whole numbers,")
        + f" with numbers <= {schema.MOST_BATCH}" * ("batch" in key)
        + f" <= {schema.MOST_FRAMES}" * ("frames" in key)
        + f", got {yaml.safe_load(value)!r} ({type(yaml.safe_load(value)).__name__})"
    ]


def test_an_upper_bound_in_the_file_names_file_and_line(tmp_path: Path) -> None:
    """Issue 17, item 18: the bound holds for a value read from the file too, with file:line."""
    path = write(tmp_path, MINIMAL + "trainer_cfg:\n  sampler:\n    frames_num_min: 100001\n")
    with pytest.raises(
        ConfigError,
        match=r"c\.yaml:4: trainer_cfg\.sampler\.frames_num_min: expected a whole number "
        r"<= 100000, got 100001",
    ):
        load_config(path)
    load_config(path, ["trainer_cfg.sampler.frames_num_min=100000"])  # the bound itself is fine
