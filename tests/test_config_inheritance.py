"""Config inheritance (``_base_``) and deleting a key with ``--set '~KEY.PATH'``."""

from __future__ import annotations

from pathlib import Path

import pytest
from gaitgen.runtime.config import load_config, read_sections
from gaitgen.runtime.errors import ConfigError

BASE = """\
model_cfg:
  model: Baseline
  channels: [4, 8]
trainer_cfg:
  total_iter: 500
  save_iter: 100
  log_iter: 10
  T_max_iter: 400
optimizer_cfg:
  solver: SGD
  lr: 0.1
  momentum: 0.9
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_config_is_merged_over_its_base(tmp_path: Path) -> None:
    write(tmp_path, "baseline.yaml", BASE)
    child = write(
        tmp_path,
        "configs/short.yaml",
        "_base_: ../baseline.yaml\ntrainer_cfg:\n  total_iter: 50\nmodel_cfg:\n  channels: [2]\n",
    )
    cfgs = load_config(child)
    assert cfgs["trainer_cfg"]["total_iter"] == 50  # the config wins
    assert cfgs["trainer_cfg"]["save_iter"] == 100  # the base's value stays
    assert cfgs["trainer_cfg"]["seed"] == 0  # the packaged default under both
    assert cfgs["model_cfg"] == {"model": "Baseline", "channels": [2]}  # a list is replaced
    assert "_base_" not in cfgs


def test_several_bases_merge_in_order_and_bases_nest(tmp_path: Path) -> None:
    write(tmp_path, "root.yaml", BASE)
    write(
        tmp_path, "lib/a.yaml", "_base_: ../root.yaml\ntrainer_cfg: {save_iter: 7, log_iter: 7}\n"
    )
    write(tmp_path, "lib/b.yaml", "trainer_cfg: {log_iter: 3}\n")
    child = write(tmp_path, "c.yaml", "_base_: [lib/a.yaml, lib/b.yaml]\n")
    trainer = load_config(child)["trainer_cfg"]
    assert (trainer["total_iter"], trainer["save_iter"], trainer["log_iter"]) == (500, 7, 3)


def test_another_solver_in_the_config_replaces_the_bases_section(tmp_path: Path) -> None:
    write(tmp_path, "baseline.yaml", BASE)
    child = write(tmp_path, "c.yaml", "_base_: baseline.yaml\noptimizer_cfg: {solver: Adam}\n")
    assert load_config(child)["optimizer_cfg"] == {"solver": "Adam"}  # no SGD momentum left


def test_an_error_in_a_value_a_base_set_names_the_base_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "baseline.yaml", BASE.replace("save_iter: 100", "save_iter: often"))
    child = write(tmp_path, "configs/c.yaml", "_base_: ../baseline.yaml\ntrainer_cfg: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(child)
    assert str(caught.value) == (
        f"{tmp_path / 'baseline.yaml'}:6: trainer_cfg.save_iter: expected a whole number, "
        "got 'often' (str)"
    )
    # and an error in the config's own value names the config's line, not the base's
    child.write_text("_base_: ../baseline.yaml\ntrainer_cfg:\n  save_iter: -1\n")
    with pytest.raises(ConfigError, match=rf"^{child}:3: trainer_cfg\.save_iter: expected"):
        load_config(child)


def test_each_value_keeps_its_own_file_and_line(tmp_path: Path) -> None:
    base = write(tmp_path, "baseline.yaml", BASE)
    child = write(tmp_path, "c.yaml", "_base_: baseline.yaml\ntrainer_cfg:\n  total_iter: 9\n")
    data, where = read_sections(child)
    assert where[("trainer_cfg", "total_iter")] == f"{child}:3"
    assert where[("trainer_cfg", "save_iter")] == f"{base}:6"
    assert where[("model_cfg", "channels", 1)] == f"{base}:3"
    assert data["trainer_cfg"]["total_iter"] == 9


def test_a_cycle_is_one_error_naming_the_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "_base_: b.yaml\nmodel_cfg: {model: Baseline}\n")
    b = write(tmp_path, "b.yaml", "_base_: [a.yaml]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(a)
    message = str(caught.value)
    assert message.startswith(f"{b}:1: _base_: the configs inherit from each other in a cycle")
    assert f"({a.resolve()} -> {b.resolve()} -> {a.resolve()})" in message
    self_loop = write(tmp_path, "s.yaml", "_base_: ./s.yaml\n")
    with pytest.raises(ConfigError, match="in a cycle"):
        load_config(self_loop)


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("_base_: nope.yaml\n", r"c\.yaml:1: _base_: no config file 'nope\.yaml' \(looked for "),
        ("_base_: 3\n", r"c\.yaml:1: _base_: expected a config file or a list of them"),
        ("_base_: []\n", r"_base_: expected a config file or a list of them .*got \[\]"),
    ],
)
def test_a_bad_base_is_one_error(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_config(write(tmp_path, "c.yaml", text))


def test_invalid_yaml_in_a_base_names_the_base(tmp_path: Path) -> None:
    base = write(tmp_path, "b.yaml", "trainer_cfg:\n  x: [1,\n")
    with pytest.raises(ConfigError, match=rf"^{base}:3:1: invalid YAML"):
        load_config(write(tmp_path, "c.yaml", "_base_: b.yaml\nmodel_cfg: {model: Baseline}\n"))


def test_tilde_deletes_a_key_and_the_packaged_default_comes_back(tmp_path: Path) -> None:
    write(tmp_path, "baseline.yaml", BASE)
    child = write(tmp_path, "c.yaml", "_base_: baseline.yaml\n")
    cfgs = load_config(
        child,
        [
            "~trainer_cfg.T_max_iter",  # known, no packaged default: gone
            "~trainer_cfg.log_iter",  # the packaged default (100) again
            "~optimizer_cfg.momentum",  # a class's argument: the class's default applies
            "~model_cfg.channels.0",  # a list entry: removed
        ],
    )
    assert "T_max_iter" not in cfgs["trainer_cfg"]
    assert cfgs["trainer_cfg"]["log_iter"] == 100
    assert "momentum" not in cfgs["optimizer_cfg"] and cfgs["optimizer_cfg"]["lr"] == 0.1
    assert cfgs["model_cfg"]["channels"] == [8]
    assert cfgs["trainer_cfg"]["total_iter"] == 500


def test_null_still_sets_null(tmp_path: Path) -> None:
    child = write(tmp_path, "c.yaml", BASE)
    assert load_config(child, ["trainer_cfg.transform=null"])["trainer_cfg"]["transform"] is None
    cfgs = load_config(child, ["trainer_cfg.transform=null", "~trainer_cfg.transform"])
    assert cfgs["trainer_cfg"]["transform"] == [{"type": "BaseSilCuttingTransform"}]


@pytest.mark.parametrize(
    "override, pattern",
    [
        ("~trainer_cfg.totl_iter", r"^--set '~trainer_cfg\.totl_iter': unknown key .*total_iter"),
        ("~trainer_cfg.log_iter=3", r"a deletion takes no value; delete with --set "),
        ("~", r"expected ~KEY\.PATH"),
        ("~model_cfg.model", r"^--set '~model_cfg\.model': model_cfg\.model: expected a model"),
    ],
)
def test_a_bad_deletion_is_one_error(tmp_path: Path, override: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_config(write(tmp_path, "c.yaml", BASE), [override])
