"""SynthGait's other modalities: 2-D pose, skeleton maps, parsing and SMPL-like parameters.

Their shapes, dtypes and labels, the file names each OpenGait family expects, equal frame
counts, the same bytes for any worker count, skeleton maps equal to the recipe's for the
written poses, and a default (silhouettes only) dataset unchanged byte for byte.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from conftest import pkl_files
from gaitgen.runtime.data.check import check_dataset
from gaitgen.runtime.data.io import load_sequence_file
from gaitgen.runtime.data.skeleton_maps import skeleton_maps
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.synth import generate_dataset
from gaitgen.runtime.synth.sequence import subject_modalities
from gaitgen.runtime.synth.smpl import axis_angle
from gaitgen.runtime.synth.spec import MODALITY_FILES, parse_modalities

#: sha256 of the default (silhouettes only) dataset below, taken before SynthGait wrote any
#: other modality: asking for none of them must keep every byte
DEFAULT_DIGEST = "031a838e4fa095f64dda18ee1222cd5905fe8a60d8c86112d9801d5e17e9456a"


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_the_default_dataset_is_unchanged_byte_for_byte(tmp_path: Path) -> None:
    root = tmp_path / "d"
    generate_dataset(root, subjects=3, views="000,054,090,180", frames=12, seed=5)
    assert _digest(root) == DEFAULT_DIGEST


@pytest.fixture(scope="module")
def every_modality(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth_all") / "data"
    generate_dataset(root, subjects=3, views=["000", "090"], frames=6, seed=5, modalities="all")
    return root


def test_every_modality_is_written_with_its_name_shape_and_equal_frames(
    every_modality: Path, small_dataset: Path
) -> None:
    expected = {
        "0_heatmap.pkl": (np.uint8, (6, 2, 64, 64)),
        "0_parsing.pkl": (np.uint8, (6, 64, 64)),
        "1_sil.pkl": (np.uint8, (6, 64, 64)),
        "2_smpl.pkl": (np.float32, (6, 85)),
        "3_pose.pkl": (np.float64, (6, 17, 3)),
    }
    assert sorted(MODALITY_FILES.values()) == sorted(expected)
    for folder in sorted(every_modality.glob("*/*/*")):
        assert sorted(p.name for p in folder.iterdir()) == sorted(expected)
        for name, (dtype, shape) in expected.items():
            array = load_sequence_file(folder / name)  # gaitgen's safe reader
            assert array.dtype == dtype and array.shape == shape, (folder, name)
        # the silhouettes are those of the silhouettes-only dataset, byte for byte
        relative = folder.relative_to(every_modality)
        alone = small_dataset / relative / f"{folder.name}.pkl"
        assert pickle.loads(alone.read_bytes()).tobytes() == (
            load_sequence_file(folder / "1_sil.pkl").tobytes()
        )
    report = check_dataset(every_modality, every_modality / "partition.json")
    assert report.problems == [] and report.sequences == 3 * 10 * 2


def test_every_modality_is_the_same_for_any_worker_count(
    every_modality: Path, tmp_path: Path
) -> None:
    other = tmp_path / "two"
    generate_dataset(
        other, subjects=3, views=["000", "090"], frames=6, seed=5, modalities="all", workers=2
    )
    assert pkl_files(other) == pkl_files(every_modality)


@pytest.mark.parametrize(("pose_format", "joints"), [("coco", 17), ("openpose", 18)])
def test_pose_skeleton_parsing_and_smpl_of_one_subject(pose_format: str, joints: int) -> None:
    sequences = subject_modalities(
        2,
        1,
        ("000", "090", "180"),
        16,
        ("nm-01", "bg-01", "cl-01"),
        modalities=parse_modalities("all"),
        pose_format=pose_format,
    )
    missing_seen = 0
    for (condition, _view), arrays in sequences.items():
        pose = arrays["pose"]
        assert pose.dtype == np.float64 and pose.shape == (16, joints, 3)
        missing = pose[..., 2] == 0
        assert (pose[missing] == 0).all()
        missing_seen += int(missing.sum())
        assert not missing.all(axis=0).any()  # no joint missing in every frame
        seen = pose[~missing]
        assert ((seen[:, 2] > 0) & (seen[:, 2] < 1)).all()
        assert (seen[:, 0] > 0).all() and (seen[:, 0] < 320).all()
        assert (seen[:, 1] > 0).all() and (seen[:, 1] < 240).all()
        # skeleton maps are the recipe's maps of the written poses
        expected = skeleton_maps(pose, openpose=pose_format == "openpose")
        assert np.array_equal(arrays["skeleton"], expected)
        # parsing: Gait3D-Parsing's labels, exactly where the silhouette is
        parsing, silhouette = arrays["parsing"], arrays["silhouette"]
        assert parsing.dtype == np.uint8 and set(np.unique(parsing)) <= set(range(12))
        assert np.array_equal(parsing > 0, silhouette >= 128)
        labels = set(np.unique(parsing))
        assert {1, 2, 7, 8} <= labels
        assert (11 in labels) == (condition == "cl-01")  # a coat's hem is "dress"
        smpl = arrays["smpl"]
        assert smpl.dtype == np.float32 and smpl.shape == (16, 85)
        assert np.isfinite(smpl).all() and (np.abs(smpl[:, 3:75]) <= np.pi + 1e-5).all()
        assert np.ptp(smpl[:, 75:], axis=0).max() == 0  # shape: one per person
    assert missing_seen > 0
    # the hips swing: the left hip's rotation (SMPL joint 1) changes over the walk
    assert np.ptp(sequences[("nm-01", "090")]["smpl"][:, 6:9], axis=0).max() > 0.3
    # a side view sees the left side (facing the camera at 090) better than the right
    coco_left, coco_right = (5, 7, 9), (6, 8, 10)
    openpose_left, openpose_right = (5, 6, 7), (2, 3, 4)
    left, right = (coco_left, coco_right) if joints == 17 else (openpose_left, openpose_right)
    side = sequences[("nm-01", "090")]["pose"][..., 2]
    assert side[:, list(left)].mean() > side[:, list(right)].mean() + 0.2


def test_shape_numbers_belong_to_the_person() -> None:
    def shape(subject: int, condition: str) -> np.ndarray:
        arrays = subject_modalities(0, subject, ("090",), 4, (condition,), modalities=("smpl",))
        return arrays[(condition, "090")]["smpl"][0, 75:]

    assert np.array_equal(shape(1, "nm-01"), shape(1, "cl-02"))
    assert not np.array_equal(shape(1, "nm-01"), shape(2, "nm-01"))


def test_axis_angle_inverts_rotations_up_to_pi() -> None:
    rng = np.random.default_rng(0)
    axes = rng.normal(size=(200, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate([rng.uniform(0, np.pi, 197), [0.0, np.pi - 1e-9, 1e-7]])
    k = np.zeros((200, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axes[:, 2], axes[:, 1], -axes[:, 0]
    k -= k.transpose(0, 2, 1)
    rotations = (
        np.eye(3)
        + np.sin(angles)[:, None, None] * k
        + (1 - np.cos(angles))[:, None, None] * (k @ k)
    )
    vectors = axis_angle(rotations)
    assert np.allclose(np.linalg.norm(vectors, axis=1), angles, atol=1e-6)
    far = angles < np.pi - 1e-6  # at pi, axis and -axis are the same rotation
    assert np.allclose(vectors[far], (axes * angles[:, None])[far], atol=1e-6)


@pytest.mark.parametrize(
    ("modalities", "message"),
    [
        ("silhouette,sil", "unknown modality 'sil'"),
        ("pose,pose", "listed twice"),
        (",", "empty"),
    ],
)
def test_bad_modalities_are_one_error(modalities: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=message):
        generate_dataset(tmp_path / "d", subjects=1, frames=2, modalities=modalities)
    with pytest.raises(DataError, match="unknown pose format 'alphapose'"):
        generate_dataset(tmp_path / "d", subjects=1, frames=2, pose_format="alphapose")
    assert not (tmp_path / "d").exists()


def test_family_subsets_sort_as_opengaits_configs_expect(tmp_path: Path) -> None:
    """SkeletonGait++ reads [heatmap, sil]; SMPLGait [sil, smpl]; its parsing config
    [parsing, sil, smpl]: the sorted names of each subset are in that order."""
    for modalities, order in (
        ("silhouette,skeleton", ["0_heatmap.pkl", "1_sil.pkl"]),
        ("smpl,silhouette", ["1_sil.pkl", "2_smpl.pkl"]),
        ("parsing,silhouette,smpl", ["0_parsing.pkl", "1_sil.pkl", "2_smpl.pkl"]),
        ("pose", ["3_pose.pkl"]),
    ):
        root = tmp_path / modalities.replace(",", "_")
        generate_dataset(root, subjects=1, views="090", frames=3, modalities=modalities)
        assert sorted(p.name for p in (root / "001" / "nm-01" / "090").iterdir()) == order
