"""Configs: OpenGait's files load as they are, defaults merge, overrides apply, errors point."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES
from gaitgen.runtime.config import load_config, merge, save_config
from gaitgen.runtime.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_opengait_gaitbase_config_loads_unchanged() -> None:
    cfgs = load_config(FIXTURES / "opengait" / "gaitbase_da_casiab.yaml")
    assert cfgs["model_cfg"]["SeparateBNNecks"]["class_num"] == 74
    assert cfgs["trainer_cfg"]["sampler"]["batch_size"] == [8, 16]
    assert cfgs["evaluator_cfg"]["restore_hint"] == 60000
    assert cfgs["trainer_cfg"]["seed"] == 0  # a default filled in
    assert [t["type"] for t in cfgs["trainer_cfg"]["transform"][0]["trf_cfg"]] == [
        "BaseSilCuttingTransform",
        "RandomRotate",
        "RandomErasing",
    ]


def test_merge_rules() -> None:
    base = {
        "a": {"x": 1, "y": [1, 2]},
        "optimizer_cfg": {"solver": "SGD", "momentum": 0.9, "lr": 0.1},
    }
    merged = merge(base, {"a": {"y": [3]}, "optimizer_cfg": {"lr": 0.01}})
    assert merged["a"] == {"x": 1, "y": [3]}  # dicts merge, lists replace
    assert merged["optimizer_cfg"] == {"solver": "SGD", "momentum": 0.9, "lr": 0.01}
    other = merge(base, {"optimizer_cfg": {"solver": "Adam", "lr": 0.001}})
    assert other["optimizer_cfg"] == {"solver": "Adam", "lr": 0.001}  # another class: replaced
    assert base["a"]["y"] == [1, 2]  # inputs untouched


def test_overrides_are_parsed_as_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "model_cfg: {model: Baseline}\n")
    cfgs = load_config(
        path,
        [
            "trainer_cfg.total_iter=200",
            "trainer_cfg.sampler.batch_size=[2, 4]",
            "optimizer_cfg.lr=1e-3",
            "data_cfg.dataset_name=CASIA-B",
        ],
    )
    assert cfgs["trainer_cfg"]["total_iter"] == 200
    assert cfgs["trainer_cfg"]["sampler"]["batch_size"] == [2, 4]
    assert cfgs["optimizer_cfg"]["lr"] == pytest.approx(1e-3)


@pytest.mark.parametrize(
    "text, overrides, pattern",
    [
        (
            "model_cfg: {model: Baseline}\ntrainer_cfg: {total_itr: 3}\n",
            [],
            r"c\.yaml:2: unknown key 'trainer_cfg\.total_itr' \(did you mean 'total_iter'",
        ),
        (
            "model_cfg: {model: Baseline}\ndata_cfgs: {}\n",
            [],
            r"unknown key 'data_cfgs' \(did you mean 'data_cfg'",
        ),
        ("model_cfg:\n  model: Baseline\n  x: [1, 2\n", [], r"c\.yaml:4:1: invalid YAML"),
        ("model_cfg: {model: Baseline}\n", ["trainer_cfg.total_iter"], r"expected KEY\.PATH=VALUE"),
        ("model_cfg: {model: Baseline}\n", ["trainer_cfg.totl.x=1"], r"no key 'trainer_cfg\.totl'"),
        (
            "model_cfg: {model: Baseline}\n",
            ["evaluator_cfg.metrc=cos"],
            r"unknown key 'evaluator_cfg\.metrc'",
        ),
        ("- a\n- b\n", [], r"must be a mapping of sections"),
        ("", [], r"the config is empty"),
        ("model_cfg: {model: ''}\n", [], r"model_cfg\.model: expected a model class name"),
    ],
)
def test_config_errors_point_at_the_problem(
    tmp_path: Path, text: str, overrides: list[str], pattern: str
) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_config(write(tmp_path, text), overrides)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_saved_config_round_trips(tmp_path: Path) -> None:
    cfgs = load_config(FIXTURES / "opengait" / "gaitbase_da_casiab.yaml")
    target = tmp_path / "run" / "config.yaml"
    save_config(cfgs, target)
    assert yaml.safe_load(target.read_text()) == cfgs
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def billion_laughs(levels: int = 9) -> str:
    """A flow mapping whose nested aliases expand to 9 ** levels values."""
    parts = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        parts.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "{" + ", ".join(parts) + "}"


def test_aliases_that_expand_without_bound_are_one_error_before_any_work(tmp_path) -> None:
    import time

    path = tmp_path / "laughs.yaml"
    path.write_text(f"model_cfg: {{model: Baseline}}\ntrainer_cfg:\n  x: {billion_laughs()}\n")
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"laughs\.yaml:3:\d+: invalid YAML: its aliases expand"):
        load_config(path)
    small = tmp_path / "small.yaml"
    small.write_text("model_cfg: {model: Baseline}\n")
    with pytest.raises(ConfigError, match=r"--set .*: the value is not valid YAML \(its aliases"):
        load_config(small, [f"trainer_cfg.x={billion_laughs()}"])
    assert time.perf_counter() - start < 30  # bounded: never the minutes the expansion takes


def test_a_config_nested_thousands_of_levels_is_one_error(tmp_path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(
        "model_cfg: {model: Baseline}\ntrainer_cfg: {x: " + "[" * 5000 + "]" * 5000 + "}\n"
    )
    with pytest.raises(
        ConfigError, match=r"deep\.yaml:2:\d+: invalid YAML: it is nested more than"
    ):
        load_config(path)
