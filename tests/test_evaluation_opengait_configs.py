"""Every OpenGait config can run its test phase as configured: its ``evaluator_cfg`` (and the
dataset name its ``data_cfg`` gives, the first block of a list) is taken by gaitgen's
evaluation. ``tests/fixtures/opengait/evaluators.json`` holds those keys of each of OpenGait's
config files (commit 0efafd4), so the test runs in any clone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gaitgen.runtime.errors import ConfigError
from gaitgen.runtime.evaluation.config import evaluation_settings

EVALUATORS = {
    name: sections
    for name, sections in json.loads(
        (Path(__file__).parent / "fixtures/opengait/evaluators.json").read_text(encoding="utf-8")
    ).items()
    if sections["data_cfg"]  # not a training config (skeletongait's pretreatment_heatmap.yaml)
}
# GaitSSB's pre-training on the unlabelled GaitLU-1M has no test set: OpenGait's default
# evaluate_indoor_dataset raises KeyError for it, gaitgen says there is no protocol for it
NO_TEST_PHASE = {"gaitssb/pretrain.yaml": "unknown protocol 'GaitLU-1M'"}


@pytest.fixture(scope="module")
def partition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A partition file naming probe and gallery sets, for the functions that read one."""
    path = tmp_path_factory.mktemp("partition") / "partition.json"
    path.write_text(json.dumps({"PROBE_SET": ["001-a-b"], "GALLERY_SET": ["002-a-b"]}))
    return path


@pytest.mark.parametrize("config", sorted(EVALUATORS))
def test_the_evaluation_of_every_opengait_config_is_accepted(config: str, partition: Path) -> None:
    sections = EVALUATORS[config]
    cfgs = {
        "data_cfg": {**sections["data_cfg"], "dataset_partition": str(partition)},
        "evaluator_cfg": sections["evaluator_cfg"],
    }
    if config in NO_TEST_PHASE:
        with pytest.raises(ConfigError, match=NO_TEST_PHASE[config]):
            evaluation_settings(cfgs)
        return
    chosen = evaluation_settings(cfgs)
    wanted = sections["evaluator_cfg"].get("eval_func") or "identification"
    assert chosen.function.name == wanted
    if chosen.function.partition_key is not None:  # it reads the partition's names
        assert chosen.settings.partition is not None
