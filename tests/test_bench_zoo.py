"""benchmarks/bench_zoo.py: the full-size configs of the issue-18 models get SynthGait inputs
of their starter's modalities, in the joint order and frame size their network takes."""

from __future__ import annotations

import pytest
from conftest import load_benchmark
from gaitgen.runtime.config import load_config
from gaitgen.runtime.zoo import MODELS, ZOO_DIR


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_zoo")


def _full(bench, model: str) -> dict:
    return bench.with_starter_data(load_config(ZOO_DIR / MODELS[model].full_config), model)


def test_an_alphapose_full_config_gets_openpose_joints(bench) -> None:
    synthetic = _full(bench, "GaitTR")["data_cfg"]["synthetic"]
    assert synthetic["modalities"] == "pose"
    assert synthetic["pose_format"] == "openpose"  # gaittr_oumvlp.yaml: joint_format alphapose


def test_a_coco_full_config_keeps_coco_joints(bench) -> None:
    assert _full(bench, "GaitGraph2")["data_cfg"]["synthetic"]["pose_format"] == "coco"


def test_gait3d_pre_cut_frames_are_cut_from_synthgait_frames(bench) -> None:
    cfgs = _full(bench, "SkeletonGaitPP")
    assert cfgs["data_cfg"]["synthetic"]["modalities"] == "silhouette,skeleton"
    assert cfgs["data_cfg"]["data_in_use"] == [True, True]
    text = repr(cfgs["trainer_cfg"]["transform"])
    assert "BaseSilCuttingTransform" in text and "'BaseSilTransform'" not in text


def test_a_silhouette_model_is_left_unchanged(bench) -> None:
    cfgs = load_config(ZOO_DIR / MODELS["GaitGL"].full_config)
    assert bench.with_starter_data(cfgs, "GaitGL") is cfgs
