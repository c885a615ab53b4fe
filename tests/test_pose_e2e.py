"""End to end on 2-D poses: a tiny pose dataset in OpenGait's layout, two modalities per
sequence (``data_in_use``), GaitGraph2 trained and tested through ``gaitgen train``/``test``
with OpenGait's GaitGraph2 transforms; broken sequences are one error line naming the file.
"""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gaitgen.cli.app import app

IDS = ["000", "001", "002", "003"]


def write_dataset(root: Path) -> Path:
    """``<root>/<id>/<type>/000/`` with ``0_pose.pkl`` (float64 [T, 17, 3]) and ``1_sil.pkl``."""
    rng = np.random.default_rng(0)
    for i, label in enumerate(IDS):
        for t, typ in enumerate(["nm-01", "nm-02", "nm-05"]):  # gallery, gallery, probe
            folder = root / label / typ / "000"
            folder.mkdir(parents=True)
            frames = 20 + 3 * t
            xy = rng.uniform(10, 60, (frames, 17, 2)) + i * 5
            pose = np.concatenate([xy, rng.uniform(0.3, 1, (frames, 17, 1))], axis=-1)
            pose[::5, 3] = 0  # missing joints, filled by NormalizeEmpty
            sil = rng.integers(0, 256, (frames, 16, 16), dtype=np.uint8)
            (folder / "0_pose.pkl").write_bytes(pickle.dumps(pose))
            (folder / "1_sil.pkl").write_bytes(pickle.dumps(sil))
    partition = root.parent / "partition.json"
    partition.write_text(json.dumps({"TRAIN_SET": IDS, "TEST_SET": IDS}))
    return partition


TRAIN_TRANSFORM = """\
    - type: Compose
      trf_cfg:
        - {type: NormalizeEmpty}
        - {type: FlipSequence, probability: 0.5}
        - {type: InversePosesPre, probability: 0.1}
        - {type: JointNoise, std: 0.25}
        - {type: PointNoise, std: 0.05}
        - {type: RandomMove, random_r: [4, 1]}
        - {type: GaitGraphMultiInput}
    - {type: BaseSilTransform}"""

TEST_TRANSFORM = """\
    - type: Compose
      trf_cfg: [{type: NormalizeEmpty}, {type: GaitGraphMultiInput}]
    - {type: BaseSilTransform}"""


def config(root: Path, partition: Path) -> str:
    """GaitGraph2 at a tiny size, OpenGait's gaitgraph2.yaml transforms (one list per file)."""
    text = textwrap.dedent(f"""\
        data_cfg:
          dataset_name: tinypose
          dataset_root: {root}
          dataset_partition: {partition}
          data_in_use: [true, true]
          num_workers: 0
          test_dataset_name: CASIA-B
        loss_cfg:
          - {{type: SupConLoss_Lp, temperature: 0.01, log_prefix: SupConLoss}}
        model_cfg:
          model: GaitGraph2
          joint_format: coco
          input_num: 3
          reduction: 8
          block: Bottleneck
          input_branch: [5, 8, 8]
          main_stream: [8, 16]
          num_class: 16
          tta: true
        optimizer_cfg: {{solver: AdamW, lr: 0.005, weight_decay: 0.00001}}
        scheduler_cfg: {{scheduler: MultiStepLR, milestones: [1000], gamma: 0.1}}
        trainer_cfg:
          enable_float16: false
          log_iter: 1
          save_iter: 2
          save_name: pose
          total_iter: 2
          sampler: {{type: TripletSampler, batch_size: [2, 2], frames_num_fixed: 12,
                    sample_type: fixed_ordered}}
          transform:
        @TRAIN@
        evaluator_cfg:
          save_name: pose
          metric: cos
          sampler: {{type: InferenceSampler, batch_size: 4, sample_type: fixed_ordered,
                    frames_num_fixed: 12}}  # as gaitgraph2.yaml: GaitGraph2 ignores seqL
          transform:
        @TEST@
        """)
    return text.replace("@TRAIN@", TRAIN_TRANSFORM).replace("@TEST@", TEST_TRANSFORM)


@pytest.fixture
def pose_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)  # runs write output/ here
    root = tmp_path / "poses"
    partition = write_dataset(root)
    path = tmp_path / "gaitgraph2.yaml"
    path.write_text(config(root, partition))
    return root, path


def test_gaitgraph2_trains_and_tests_on_poses(pose_run) -> None:
    root, path = pose_run
    runner = CliRunner()
    trained = runner.invoke(app, ["train", str(path)])
    assert trained.exit_code == 0, trained.output
    tested = runner.invoke(app, ["test", str(path)])
    assert tested.exit_code == 0, tested.output
    results = list(path.parent.rglob("results.json"))
    assert results, tested.output
    embeddings = np.load(next(path.parent.rglob("embeddings.npz")))
    assert embeddings["feature"].shape[0] == 12  # every sequence, 3 * num_class features
    assert embeddings["feature"].shape[1] == 48


def fail(path: Path, phase: str = "train") -> str:
    result = CliRunner().invoke(app, [phase, str(path)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_a_missing_modality_file_is_named(pose_run) -> None:
    root, path = pose_run
    (root / "002" / "nm-02" / "000" / "0_pose.pkl").unlink()
    line = fail(path)
    assert "002/nm-02/000: holds 1 file(s) (1_sil.pkl) where most sequence folders hold 2" in line
    assert "a modality file is missing" in line


def test_modalities_of_different_frame_counts_are_named(pose_run) -> None:
    root, path = pose_run
    sil = root / "001" / "nm-01" / "000" / "1_sil.pkl"
    sil.write_bytes(pickle.dumps(np.zeros((7, 16, 16), dtype=np.uint8)))
    path.write_text(path.read_text().replace("batch_size: [2, 2]", "batch_size: [4, 3]"))
    line = fail(path)
    assert "001/nm-01/000: the modalities of this sequence have different frame counts" in line
    assert "0_pose.pkl: 20, 1_sil.pkl: 7" in line


def test_a_pose_file_of_the_wrong_shape_is_named(pose_run) -> None:
    root, path = pose_run
    bad = root / "003" / "nm-05" / "000" / "0_pose.pkl"
    bad.write_bytes(pickle.dumps(np.ones((26, 18, 3))))  # 18 joints among COCO-17 poses
    path.write_text(path.read_text().replace("batch_size: [2, 2]", "batch_size: [4, 3]"))
    line = fail(path)  # one batch of all 12 sequences
    assert f"{bad}: frames of shape (18, 3) where the other 11 sequence(s)" in line
