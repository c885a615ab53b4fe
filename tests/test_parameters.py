"""One parameter count: ``gaitgen list``, ``compare``, ``check`` and the README agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from gaitgen.runtime.config import load_config, save_config
from gaitgen.runtime.engine.build import build_model
from gaitgen.runtime.engine.parameters import config_parameter_count, count_parameters
from gaitgen.runtime.errors import GaitgenError
from gaitgen.runtime.zoo import MODELS, ZOO_DIR, format_count
from typer.testing import CliRunner

from gaitgen.cli.app import app
from gaitgen.cli.compare_runs import find_runs


def test_frozen_parameters_count_and_buffers_do_not() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    model[0].weight.requires_grad_(False)  # frozen: still a parameter of the model
    model.register_buffer("index", torch.zeros(100, dtype=torch.long))
    assert count_parameters(model) == 3 * 2 + 2 + 2 + 2


def test_swingait_has_one_size_in_list_compare_and_the_readme(tmp_path: Path, monkeypatch) -> None:
    # SwinGait holds buffers that are not BatchNorm statistics (relative_position_index): a
    # count of its state dict is larger than its parameters
    entry = MODELS["SwinGait"]
    cfgs = load_config(ZOO_DIR / entry.full_config)
    with torch.device("meta"):
        model = build_model(cfgs, None, is_training=False)
    state_dict_count = sum(t.numel() for k, t in model.state_dict().items() if "running" not in k)
    assert state_dict_count > count_parameters(model) == entry.parameters == 25_539_136

    folder = tmp_path / "output" / "Gait3D" / "SwinGait" / "full"
    save_config(cfgs, folder / "config.yaml")
    monkeypatch.chdir(tmp_path)
    (record,) = find_runs([folder])
    assert record.parameters == entry.parameters
    listed = CliRunner().invoke(app, ["list", "--kind", "model"])
    line = next(line for line in listed.output.splitlines() if " SwinGait " in line)
    assert format_count(record.parameters) in line
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `SwinGait` |"))
    assert f"| {format_count(record.parameters)} |" in row


def test_check_prints_the_count_of_the_model_it_builds(tmp_path: Path) -> None:
    from gaitgen.runtime.engine.check import check_config_file

    cfgs = load_config(ZOO_DIR / "gaitset.yaml")
    expected = config_parameter_count(cfgs, None)
    report = check_config_file(
        ZOO_DIR / "gaitset.yaml", ["data_cfg.synthetic=null", f"data_cfg.dataset_root={tmp_path}"]
    )
    assert f"GaitSet: {expected:,} parameters" in report.format()


def test_a_config_that_does_not_build_is_an_error() -> None:
    cfgs = load_config(ZOO_DIR / "gaitset.yaml")
    cfgs["model_cfg"]["model"] = "Nope"
    with pytest.raises(GaitgenError, match="Nope"):
        config_parameter_count(cfgs, None)
