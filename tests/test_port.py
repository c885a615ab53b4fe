"""``gaitgen port``: model files written in OpenGait's import style run once ported.

The model files here are written for this test in the way OpenGait's are (relative imports
of ``..base_model``, ``..modules``, ``..backbones``, ``utils``, einops' ``rearrange``,
``self.get_backbone``, ``self.iteration``); none is OpenGait's own file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from conftest import small_config, snapshot
from typer.testing import CliRunner

from gaitgen.cli.app import app

OPENGAIT_STYLE_MODEL = '''\
import torch
import torch.nn as nn
from einops import rearrange

from ..base_model import BaseModel
from ..modules import (SetBlockWrapper, HorizontalPoolingPyramid, PackSequenceWrapper,
                       SeparateFCs, SeparateBNNecks)
from utils import clones, is_list_or_tuple


class StripNet(BaseModel):
    """A tiny part-based model: a Plain backbone, temporal max, strips."""

    def build_network(self, model_cfg):
        self.Backbone = SetBlockWrapper(self.get_backbone(model_cfg['backbone_cfg']))
        self.TP = PackSequenceWrapper(torch.max)
        self.HPP = HorizontalPoolingPyramid(bin_num=model_cfg['bin_num'])
        self.FCs = SeparateFCs(**model_cfg['SeparateFCs'])
        self.BNNecks = SeparateBNNecks(**model_cfg['SeparateBNNecks'])
        self.extra = clones(nn.Identity(), 2)
        assert is_list_or_tuple(model_cfg['bin_num'])

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        sils = rearrange(ipts[0], 'n s h w -> n 1 s h w')
        outs = self.Backbone(sils)
        outs = self.TP(outs, seqL, options={"dim": 2})[0]
        feat = self.HPP(outs)
        embed_1 = self.FCs(feat)
        _, logits = self.BNNecks(embed_1)
        n, _, s, h, w = sils.size()
        assert self.iteration >= 0 and 'restore_hint' in self.engine_cfg
        return {
            'training_feat': {
                'triplet': {'embeddings': embed_1, 'labels': labs},
                'softmax': {'logits': logits, 'labels': labs},
            },
            'visual_summary': {'image/sils': sils.view(n * s, 1, h, w)},
            'inference_feat': {'embeddings': embed_1},
        }
'''

PLAIN_CFG = """\
model_cfg:
  model: StripNet
  backbone_cfg:
    type: Plain
    in_channels: 1
    layers_cfg: [BC-8, M, FC-16-1]
  SeparateFCs: {in_channels: 16, out_channels: 16, parts_num: 8}
  SeparateBNNecks: {class_num: 4, in_channels: 16, parts_num: 8}
  bin_num: [8]
"""


def test_an_opengait_style_model_ports_and_trains(project: Path, tmp_path: Path, tiny_dataset):
    source = tmp_path / "stripnet.py"
    source.write_text(OPENGAIT_STYLE_MODEL)
    result = CliRunner().invoke(app, ["port", str(source)])
    assert result.exit_code == 0, result.output
    ported = project / "demo" / "models" / "stripnet.py"
    assert "create" in result.output and "ported StripNet" in result.output
    text = ported.read_text()
    assert "from gaitgen.runtime import BaseModel\n" in text
    assert "from gaitgen.runtime.modules import SetBlockWrapper, HorizontalPoolingPyramid" in text
    assert "from gaitgen.runtime.compat import clones, is_list_or_tuple\n" in text
    # every line but the imports is kept as it was
    body = OPENGAIT_STYLE_MODEL.split("class StripNet", 1)[1]
    assert text.endswith(body)

    root, partition = tiny_dataset
    config = small_config(root, partition, total_iter=2)
    start, end = config.index("model_cfg:"), config.index("optimizer_cfg:")
    config = config[:start] + PLAIN_CFG + config[end:]
    (project / "configs" / "stripnet.yaml").write_text(config)
    trained = subprocess.run(
        [sys.executable, "-m", "gaitgen", "train", "configs/stripnet.yaml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    assert "iteration 2:" in trained.stdout
    tested = subprocess.run(
        [sys.executable, "-m", "gaitgen", "test", "configs/stripnet.yaml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tested.returncode == 0, tested.stderr
    assert (project / "output" / "tiny" / "StripNet" / "small" / "results.json").is_file()


def test_unmapped_imports_are_listed_with_lines_and_nothing_is_written(project, tmp_path):
    source = tmp_path / "needs_more.py"
    source.write_text(
        OPENGAIT_STYLE_MODEL.replace(
            "from utils import clones, is_list_or_tuple",
            "from utils import clones, is_list_or_tuple\n"
            "from ..modules import SeparateFC\n"
            "import not_a_library_here",
        )
    )
    before = snapshot(project)
    result = CliRunner().invoke(app, ["port", str(source)])
    assert result.exit_code == 1
    assert f"{source}:9: 'from ..modules import SeparateFC': gaitgen has no SeparateFC" in (
        result.stderr
    )
    assert "(did you mean 'SeparateFCs'" in result.stderr
    assert f"{source}:10: module 'not_a_library_here' is not installed" in result.stderr
    assert "nothing was written" in result.stderr
    assert snapshot(project) == before

    kept = CliRunner().invoke(app, ["port", str(source), "--keep-unmapped"])
    assert kept.exit_code == 0, kept.output
    text = (project / "demo" / "models" / "needs_more.py").read_text()
    assert "from ..modules import SeparateFC  # gaitgen port: not mapped" in text


def test_a_file_that_is_not_a_model_is_refused(project: Path, tmp_path: Path) -> None:
    source = tmp_path / "layers.py"
    source.write_text("import torch\n\n\nclass Helper(torch.nn.Module):\n    pass\n")
    before = snapshot(project)
    result = CliRunner().invoke(app, ["port", str(source)])
    assert result.exit_code == 1
    assert "no model class in it" in result.stderr
    assert snapshot(project) == before
    broken = tmp_path / "broken.py"
    broken.write_text("class Broken(BaseModel:\n")
    result = CliRunner().invoke(app, ["port", str(broken)])
    assert result.exit_code == 1 and f"{broken}:1: not valid Python" in result.stderr
    missing = CliRunner().invoke(app, ["port", str(tmp_path / "absent.py")])
    assert missing.exit_code == 1 and "no such file" in missing.stderr


def test_a_copy_of_a_builtin_shadows_it_or_is_renamed(project: Path, tmp_path: Path) -> None:
    source = tmp_path / "baseline.py"
    source.write_text(OPENGAIT_STYLE_MODEL.replace("StripNet", "Baseline"))
    result = CliRunner().invoke(app, ["port", str(source)])
    assert result.exit_code == 0, result.output
    assert "Baseline shadows gaitgen's built-in Baseline" in result.output

    renamed = CliRunner().invoke(app, ["port", str(source), "--name", "MyBaseline"])
    assert renamed.exit_code == 0, renamed.output
    text = (project / "demo" / "models" / "mybaseline.py").read_text()
    assert "class MyBaseline(BaseModel):" in text and "class Baseline" not in text
    # its config is the project's Baseline config with the new name; new-model's test runs it
    config = yaml.safe_load((project / "configs" / "mybaseline.yaml").read_text())
    assert config["model_cfg"]["model"] == "MyBaseline"
    header = (project / "configs" / "mybaseline.yaml").read_text().splitlines()[2]
    assert header == "# Its settings are from configs/baseline.yaml, the project's Baseline."
    test = (project / "tests" / "test_mybaseline.py").read_text()
    assert "from demo.models.mybaseline import MyBaseline" in test
    assert "gaitgen train configs/mybaseline.yaml" in renamed.output


def test_a_port_takes_its_config_from_an_opengait_config(project: Path, tmp_path: Path) -> None:
    source = tmp_path / "stripnet.py"
    source.write_text(OPENGAIT_STYLE_MODEL)
    opengait = tmp_path / "stripnet_casiab.yaml"
    opengait.write_text(
        "data_cfg:\n  dataset_name: CASIA-B\n  dataset_root: your_path\n"
        "model_cfg:\n  model: StripNet\n  bin_num: [16]\n"
        "trainer_cfg:\n  save_name: StripNet\n  total_iter: 60000\n"
    )
    result = CliRunner().invoke(app, ["port", str(source), "--config", str(opengait)])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((project / "configs" / "stripnet.yaml").read_text())
    assert config["model_cfg"] == {"model": "StripNet", "bin_num": [16]}
    assert config["trainer_cfg"]["total_iter"] == 60000  # OpenGait's settings kept
    assert config["data_cfg"]["dataset_name"] == "SynthGait"  # the project's data, not a path
    assert (project / "tests" / "test_stripnet.py").is_file()
    header = (project / "configs" / "stripnet.yaml").read_text().splitlines()[2]
    assert header.startswith("# Its settings are from the config stripnet_casiab.yaml given to")
    assert str(tmp_path) not in (project / "configs" / "stripnet.yaml").read_text()

    other = tmp_path / "other.yaml"
    other.write_text("model_cfg:\n  model: GaitSet\n")
    (project / "configs" / "stripnet.yaml").unlink()
    refused = CliRunner().invoke(app, ["port", str(source), "--config", str(other), "--force"])
    assert refused.exit_code == 1
    assert "its model_cfg.model is 'GaitSet', not the ported StripNet" in refused.stderr


def test_a_file_named_with_a_leading_underscore_is_ported_where_the_scanner_finds_it(
    project: Path, tmp_path: Path
) -> None:
    from gaitgen.runtime.components import available
    from gaitgen.runtime.project import find_project

    source = tmp_path / "_stripnet.py"
    source.write_text(OPENGAIT_STYLE_MODEL)
    result = CliRunner().invoke(app, ["port", str(source)])
    assert result.exit_code == 0, result.output
    assert (project / "demo" / "models" / "stripnet.py").is_file()
    assert not (project / "demo" / "models" / "_stripnet.py").exists()
    models = {c.name for c in available("model", find_project(project))}
    assert "StripNet" in models  # a config naming it finds it
    underscores = tmp_path / "__.py"
    underscores.write_text(OPENGAIT_STYLE_MODEL)
    refused = CliRunner().invoke(app, ["port", str(underscores)])
    assert refused.exit_code == 1 and "pass --name NewName" in refused.stderr


def test_statements_joined_with_a_semicolon_keep_every_token_but_the_imports(
    project: Path, tmp_path: Path
) -> None:
    import ast

    joined = OPENGAIT_STYLE_MODEL.replace(
        "from ..base_model import BaseModel\n",
        "from ..base_model import BaseModel; from ..modules import SeparateFCs\n"
        "from utils import clones; SCALE = 2  # kept\n",
    )
    source = tmp_path / "stripnet.py"
    source.write_text(joined)
    result = CliRunner().invoke(app, ["port", str(source)])
    assert result.exit_code == 0, result.output
    text = (project / "demo" / "models" / "stripnet.py").read_text()
    ast.parse(text)  # still Python
    assert (
        "from gaitgen.runtime import BaseModel; "
        "from gaitgen.runtime.modules import SeparateFCs\n" in text
    )
    assert "from gaitgen.runtime.compat import clones; SCALE = 2  # kept\n" in text


def test_gpu_only_lines_are_noted_with_their_line(project: Path, tmp_path: Path) -> None:
    # OpenGait's GaitTR moves a tensor with .cuda(x.get_device()), which fails on the CPU:
    # that exact form becomes .to(x.device) (noted); any other .cuda() is kept and noted
    source = tmp_path / "cudanet.py"
    text = OPENGAIT_STYLE_MODEL.replace("StripNet", "CudaNet").replace(
        "        outs = self.Backbone(sils)\n",
        "        sils = sils.cuda(sils.get_device())\n"
        "        mask = torch.ones(1).cuda()\n"
        "        if sils.is_cuda:\n"
        "            grid = mask.cuda()\n"
        "        outs = self.Backbone(sils)\n",
    )
    source.write_text(text)
    lines = text.splitlines()
    moved = lines.index("        sils = sils.cuda(sils.get_device())") + 1
    kept = lines.index("        mask = torch.ones(1).cuda()") + 1
    result = CliRunner().invoke(app, ["port", str(source)])
    assert result.exit_code == 0, result.output
    assert (
        f"note: {source}:{moved}: sils.cuda(sils.get_device()) became sils.to(sils.device)"
        in result.output
    )
    assert f"note: {source}:{kept}: .cuda() runs on a GPU only" in result.output
    guarded = lines.index("            grid = mask.cuda()") + 1
    assert (
        f"{source}:{guarded}: .cuda() runs on a GPU only (kept as OpenGait wrote it); to train "
        "on the CPU too, move the tensor with .to(x.device) instead, x an input tensor; on the "
        f"CPU 'grid' is never assigned (the 'if' at line {guarded - 1} has no else)"
    ) in " ".join(result.output.split())
    ported = (project / "demo/models/cudanet.py").read_text()
    assert "        sils = sils.to(sils.device)\n" in ported
    assert "        mask = torch.ones(1).cuda()\n" in ported  # kept as written
    assert ported.startswith("# Ported from OpenGait by `gaitgen port cudanet.py`: imports")
