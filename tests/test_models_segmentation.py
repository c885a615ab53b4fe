"""GaitEdge's Segmentation (U_Net, BinaryCrossEntropyLoss): OpenGait's state dict, a training
step, and ``gaitgen train``/``test`` collecting its pred/mask for ``evaluate_segmentation``.

OpenGait's outputs for OpenGait's weights: test_parity.py (Segmentation.pt.xz).
"""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import parity_fixture, state_dict_shapes
from gaitgen.runtime.components import build
from gaitgen.runtime.config import default_config, load_config, merge
from gaitgen.runtime.engine.step import InferenceStep
from gaitgen.runtime.errors import TrainingError
from gaitgen.runtime.models.segmentation import Segmentation
from gaitgen.runtime.testing import check_gradients, check_loss_falls
from typer.testing import CliRunner

from gaitgen.cli.app import app

ZOO_CONFIG = Path(__file__).resolve().parents[1] / "runtime" / "zoo" / "segmentation_casiab.yaml"
ENCODER = {"Conv1", "Conv2", "Conv3", "Conv4"}  # U_Net's encoder blocks


def build_model(freeze_half: bool = True, training: bool = True) -> Segmentation:
    torch.manual_seed(0)
    model_cfg = {
        "model": "Segmentation",
        "backbone_cfg": {"type": "U_Net", "in_channels": 3, "freeze_half": freeze_half},
    }
    return Segmentation(merge(default_config(), {"model_cfg": model_cfg}), training)


def batch(n: int = 2, s: int = 3, size: int = 16) -> list:
    generator = torch.Generator().manual_seed(1)
    sils = (torch.rand(n, s, size, size, generator=generator) > 0.5).float()
    rgbs = sils.unsqueeze(2).repeat(1, 1, 3, 1, 1) + 0.3 * torch.randn(
        n, s, 3, size, size, generator=generator
    )
    return [[rgbs, sils], torch.arange(n), ["nm-01"] * n, ["090"] * n, None]


def test_full_size_state_dict_equals_opengait() -> None:
    # U_Net's widths are fixed, so the parity fixture's weights (recorded from OpenGait's
    # Segmentation with phase1_seg.yaml's model_cfg) have OpenGait's full-size state dict
    cfgs = load_config(ZOO_CONFIG)
    model = Segmentation(cfgs, is_training=False)
    recorded = parity_fixture("Segmentation")
    assert recorded["model_cfg"] == cfgs["model_cfg"]
    assert state_dict_shapes(model) == {k: list(v.shape) for k, v in recorded["state_dict"].items()}


@pytest.mark.parametrize("freeze_half", [True, False])
def test_a_training_step_reaches_every_trainable_parameter(freeze_half: bool) -> None:
    model = build_model(freeze_half)
    loss_fn = build("loss", {"type": "BinaryCrossEntropyLoss"})
    inputs = batch()
    output = model(inputs)
    logits = output["training_feat"]["bce"]["logits"]
    assert logits.shape == (6, 1, 16, 16) and ((logits > 0) & (logits < 1)).all()
    loss, info = loss_fn(**output["training_feat"]["bce"])
    loss.backward()
    check_gradients(model)
    encoder = [p for n, p in model.named_parameters() if n.split(".")[1] in ENCODER]
    assert all(p.grad is None for p in encoder) == freeze_half  # frozen: no gradient at all
    assert info["miou"].shape == (6,)

    def losses(training_feat):
        return loss_fn(**training_feat["bce"])

    check_loss_falls(model, losses, inputs)


def test_binary_cross_entropy_matches_its_formula() -> None:
    probabilities = torch.tensor([[[[0.9, 0.2], [0.6, 0.4]]]])
    labels = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    loss, info = build("loss", {"type": "BinaryCrossEntropyLoss"})(probabilities, labels)
    expected = -torch.log(torch.tensor([0.9, 0.8, 0.4, 0.4]))
    assert loss.item() == pytest.approx(expected.mean().item(), rel=1e-5)
    assert info["hard_loss"].item() == pytest.approx(expected.max().item(), rel=1e-5)
    # thresholded [1, 0, 1, 0] against [1, 0, 0, 1]: one pixel of three in the union
    assert info["miou"].tolist() == pytest.approx([1 / 3])


def test_eval_gives_thresholded_pred_and_the_mask() -> None:
    model = build_model(training=False).eval()
    inputs = batch()
    step = InferenceStep(model, torch.device("cpu"))
    features, arrays = step.outputs(inputs, embeddings=False, arrays=("pred", "mask"))
    assert features is None
    assert set(torch.unique(arrays["pred"]).tolist()) <= {0.0, 1.0}
    assert torch.equal(arrays["mask"], inputs[0][1].reshape(6, 1, 16, 16))
    with pytest.raises(TrainingError, match=r"no tensor 'depth'.*holds mask, pred"):
        step.outputs(inputs, embeddings=False, arrays=("pred", "depth"))


def write_rgb_dataset(root: Path) -> Path:
    """Four subjects (two for testing), two sequences each of 6 frames: RGB frames that show
    the silhouette (``0_rgb.pkl``) and the silhouettes (``1_sil.pkl``)."""
    rng = np.random.default_rng(0)
    ids = [f"{i:03d}" for i in range(1, 5)]
    for subject in ids:
        for sequence in ("nm-01", "nm-02"):
            folder = root / subject / sequence / "090"
            folder.mkdir(parents=True)
            sils = np.zeros((6, 32, 32), np.uint8)
            for t in range(6):
                sils[t, 6:26, 10 + t % 3 : 20 + t % 3] = 255
            noise = rng.integers(0, 60, (6, 3, 32, 32), dtype=np.uint8)
            rgb = np.repeat(sils[:, None], 3, axis=1) // 2 + noise
            (folder / "0_rgb.pkl").write_bytes(pickle.dumps(rgb))
            (folder / "1_sil.pkl").write_bytes(pickle.dumps(sils))
    partition = root / "partition.json"
    partition.write_text(json.dumps({"TRAIN_SET": ids[:2], "TEST_SET": ids[2:]}))
    return partition


@pytest.mark.slow
def test_segmentation_trains_and_tests_with_evaluate_segmentation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the run folder is output/ under the working directory
    partition = write_rgb_dataset(tmp_path / "data")
    config = tmp_path / "seg.yaml"
    config.write_text(textwrap.dedent(f"""\
        data_cfg:
          dataset_name: tinyrgb
          dataset_root: {tmp_path / "data"}
          dataset_partition: {partition}
          num_workers: 0
          data_in_use: [true, true]
          test_dataset_name: CASIA-B
        loss_cfg:
          - {{type: BinaryCrossEntropyLoss, log_prefix: bce, loss_term_weight: 1.0}}
        model_cfg:
          model: Segmentation
          backbone_cfg: {{type: U_Net, in_channels: 3}}
        optimizer_cfg: {{solver: SGD, lr: 0.1, momentum: 0.9, weight_decay: 0.0005}}
        scheduler_cfg: {{scheduler: MultiStepLR, milestones: [1000], gamma: 0.1}}
        trainer_cfg:
          enable_float16: false
          log_iter: 1
          save_iter: 2
          save_name: small
          total_iter: 2
          sampler: {{type: TripletSampler, batch_size: [2, 2], frames_num_fixed: 4,
                    sample_type: fixed_unordered}}
          transform: [{{type: BaseRgbTransform}}, {{type: BaseSilTransform}}]
        evaluator_cfg:
          save_name: small
          eval_func: evaluate_segmentation
          sampler: {{type: InferenceSampler, batch_size: 2, sample_type: all_ordered}}
          transform: [{{type: BaseRgbTransform}}, {{type: BaseSilTransform}}]
        """))
    runner = CliRunner()
    checked = runner.invoke(app, ["check", str(config)])  # pred/mask, not embeddings, checked
    assert checked.exit_code == 0, checked.output
    assert "CASIA-B (evaluate_segmentation)" in checked.stdout and "mask: [" in checked.stdout
    trained = runner.invoke(app, ["train", str(config)])
    assert trained.exit_code == 0, trained.output
    tested = runner.invoke(app, ["test", str(config)])
    assert tested.exit_code == 0, tested.output
    assert "over 24 frames" in tested.stdout  # 2 subjects x 2 sequences x 6 frames
    run_dir = tmp_path / "output" / "tinyrgb" / "Segmentation" / "small"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["function"] == "evaluate_segmentation"
    iou = results["opengait"]["scalar/test_accuracy/mIOU"]
    assert len(iou) == 24 and all(0 <= v <= 1 for v in iou)
    assert results["conditions"]["segmentation"]["mIOU"] == pytest.approx(np.mean(iou), abs=1e-6)
    saved = np.load(run_dir / "embeddings.npz")
    assert saved["pred"].shape == saved["mask"].shape == (24, 1, 32, 32)
    assert "feature" not in saved.files and len(saved["label"]) == 4
    # the saved file evaluates to the same per-frame IoU
    again = runner.invoke(
        app,
        [
            "evaluate",
            str(run_dir / "embeddings.npz"),
            "--protocol",
            "evaluate_segmentation",
            "--json",
        ],
    )
    assert json.loads(again.stdout)["opengait"] == results["opengait"]
