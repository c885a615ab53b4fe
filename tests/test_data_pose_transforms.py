"""The pose transforms against OpenGait's on numbers, and the batch pipeline for transforms that
change a sequence's length, a frame's shape or the axis of the frames.

The references below are OpenGait's transforms written out plainly (loops over frames and
joints, numpy), so each vectorised transform is checked value by value.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gaitgen.runtime.components import build
from gaitgen.runtime.data.collate import GaitCollate
from gaitgen.runtime.data.pipeline import BatchPipeline, pretreat_batch
from gaitgen.runtime.data.transforms import get_transform
from gaitgen.runtime.errors import ConfigError, DataError

COCO_PARENTS = [5, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14]
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def poses(frames: int = 9, joints: int = 17, seed: int = 0) -> np.ndarray:
    """Float64 poses [T, V, 3] with some missing joints (0, 0, 0) and one x-only gap."""
    rng = np.random.default_rng(seed)
    data = np.concatenate(
        [rng.uniform(5, 60, (frames, joints, 2)), rng.uniform(0.2, 1, (frames, joints, 1))], -1
    )
    data[1 % frames, [3, 8, 12]] = 0  # three missing joints in one frame
    data[4 % frames, 0] = 0
    data[5 % frames, 7, 0] = 0  # x missing, y kept: still "empty" by OpenGait's rule
    return data


def transform(cfg: dict):
    return get_transform(cfg, "transform")


# --- OpenGait's transforms, written plainly --------------------------------------------


def ref_normalize_empty(data: np.ndarray) -> np.ndarray:
    data = data.copy()
    frames, joints = np.where(data[:, :, 0] == 0)
    for frame, joint in zip(frames, joints):  # one after another: the mean includes the filled
        centre = np.mean(data[frame], axis=0)
        data[frame, joint] = (centre[0], centre[1], 0)
    return data


def ref_gaittr(data: np.ndarray, parents: list[int]) -> np.ndarray:
    xy = np.transpose(data, (2, 0, 1))[:2]  # [2, T, V]
    c, t, v = xy.shape
    out = np.zeros((5, c, t, v))
    out[0] = xy
    for i in range(v):
        out[1, :, :, i] = xy[:, :, i] - xy[:, :, 0]
    for i in range(t - 2):
        out[2, :, i] = xy[:, i + 1] - xy[:, i]
        out[3, :, i] = xy[:, i + 2] - xy[:, i]
    for i, parent in enumerate(parents):
        out[4, :, :, i] = xy[:, :, i] - xy[:, :, parent]
    return np.transpose(out.reshape(5 * c, t, v), (1, 2, 0))


def ref_gaitgraph(data: np.ndarray, parents: list[int], center: int = 0) -> np.ndarray:
    t, v, c = data.shape
    out = np.zeros((t, v, 3, c + 2))
    out[:, :, 0, :c] = data
    for i in range(v):
        out[:, i, 0, c:] = data[:, i, :2] - data[:, center, :2]
    for i in range(t - 2):
        out[i, :, 1, :2] = data[i + 1, :, :2] - data[i, :, :2]
        out[i, :, 1, 3:] = data[i + 2, :, :2] - data[i, :, :2]
    out[:, :, 1, 3] = data[:, :, 2]
    for i in range(v):
        out[:, i, 2, :2] = data[:, i, :2] - data[:, parents[i], :2]
    length = np.sqrt(out[:, :, 2, 0] ** 2 + out[:, :, 2, 1] ** 2) + 0.0001
    for i in range(c - 1):
        out[:, :, 2, c + i] = np.arccos(out[:, :, 2, i] / length)
    out[:, :, 2, 3] = data[:, :, 2]
    return out


# --- value checks -----------------------------------------------------------------------


def test_normalize_empty_fills_joints_one_after_another_as_opengait() -> None:
    data = poses()
    got = transform({"type": "NormalizeEmpty"})(data)
    np.testing.assert_allclose(got, ref_normalize_empty(data), rtol=0, atol=1e-12)
    assert got[1, 3, 2] == 0 and got[1, 3, 0] != got[1, 8, 0]  # later joints see earlier fills


def test_normalize_empty_by_hand() -> None:
    data = np.array([[[0.0, 0.0, 0.0], [3.0, 6.0, 1.0], [6.0, 3.0, 1.0]]])  # 3 joints
    got = transform({"type": "NormalizeEmpty"})(data)
    np.testing.assert_allclose(got[0, 0], [3.0, 3.0, 0.0])


@pytest.mark.parametrize("fmt", ["coco", "alphapose"])
def test_gaittr_multi_input_matches_opengait(fmt: str) -> None:
    joints = 17 if fmt == "coco" else 18
    parents = COCO_PARENTS if fmt == "coco" else [1, 1, 1, 2, 3, 1, 5, 6, 2, 8, 9, 5, 11, 12]
    parents = parents + ([0, 0, 14, 15] if fmt != "coco" else [])
    data = poses(joints=joints)
    got = transform({"type": "GaitTRMultiInput", "joint_format": fmt})(data)
    np.testing.assert_array_equal(got, ref_gaittr(data, parents))


def test_gaitgraph_multi_input_matches_opengait_and_gaitgraph2s_function() -> None:
    data = poses()
    got = transform({"type": "GaitGraphMultiInput"})(data)
    np.testing.assert_allclose(got, ref_gaitgraph(data, COCO_PARENTS), rtol=0, atol=1e-12)
    got = transform({"type": "GaitGraphMultiInput", "center": 3})(data)
    np.testing.assert_allclose(got, ref_gaitgraph(data, COCO_PARENTS, 3), rtol=0, atol=1e-12)


def test_velocities_stop_at_each_sequence_of_a_batch() -> None:
    """Two sequences in one batch give what each gives alone (no velocity across them)."""
    a, b = poses(7, seed=1), poses(5, seed=2)
    frames = torch.from_numpy(np.concatenate([a, b]))
    for name, ref in (
        ("GaitTRMultiInput", lambda d: ref_gaittr(d, COCO_PARENTS)),
        ("GaitGraphMultiInput", lambda d: ref_gaitgraph(d, COCO_PARENTS)),
    ):
        out, lengths, _ = BatchPipeline(transform({"type": name})).run(frames.clone(), [7, 5])
        assert lengths == [7, 5]
        np.testing.assert_allclose(out[:7].numpy(), ref(a), atol=1e-12)
        np.testing.assert_allclose(out[7:].numpy(), ref(b), atol=1e-12)


def test_layouts_and_joint_selection() -> None:
    data = poses()
    np.testing.assert_array_equal(
        transform({"type": "GaitGraph1Input"})(data), np.transpose(data, (2, 0, 1))[..., None]
    )
    np.testing.assert_array_equal(
        transform({"type": "SkeletonInput"})(data), np.transpose(data, (0, 2, 1))[..., None]
    )
    msgg = transform({"type": "MSGGTransform"})(data)
    np.testing.assert_array_equal(msgg, data[:, [6, 8, 14, 12, 7, 13, 5, 10, 16, 11, 9, 15]])


def test_msgg_transform_drops_prob_with_a_warning_and_takes_coco() -> None:
    from gaitgen.runtime.components.arguments import check_arguments
    from gaitgen.runtime.config.schema import ignored_in

    found: list = []
    check_arguments(
        type(transform({"type": "MSGGTransform"})),
        {"prob": "alphapose"},
        "trainer_cfg.transform",
        dropped=ignored_in("transform"),
        found=found,
    )
    assert [item.path for item in found] == ["prob"]


def test_certain_random_transforms_equal_opengait() -> None:
    data = poses()
    mirrored = transform({"type": "MirrorPoses", "prob": 1.0})(data)
    centre = np.mean(data[:, :, 0], axis=1, keepdims=True)
    expected = data.copy()
    expected[:, :, 0] = centre - data[:, :, 0] + centre
    np.testing.assert_allclose(mirrored, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(transform({"type": "MirrorPoses", "prob": 0.0})(data), data)
    flipped = transform({"type": "FlipSequence", "probability": 1.0})(data)
    np.testing.assert_array_equal(flipped, data[::-1])
    swapped = transform({"type": "InversePosesPre", "probability": 1.0})(data)
    np.testing.assert_array_equal(swapped, data[:, COCO_FLIP])


def test_random_draws_per_sequence_and_per_frame() -> None:
    data = np.concatenate([poses(8, seed=3), poses(8, seed=4)])
    frames = torch.from_numpy(data)
    gen = torch.Generator().manual_seed(0)
    moved = build("transform", {"type": "RandomMove"}).apply_batch(frames.clone(), [8, 8], gen)
    shift = (moved - frames).numpy()
    for part in (shift[:8], shift[8:]):  # one (x, y) per sequence, confidence untouched
        assert np.allclose(part[:, :, 0], part[0, 0, 0]) and abs(part[0, 0, 0]) <= 4
        assert np.allclose(part[:, :, 1], part[0, 0, 1]) and abs(part[0, 0, 1]) <= 1
        assert np.all(part[:, :, 2] == 0)
    assert not np.isclose(shift[0, 0, 0], shift[8, 0, 0])
    joint = build("transform", {"type": "JointNoise", "std": 0.5})
    noise = (joint.apply_batch(frames.clone(), [8, 8], gen) - frames).numpy()
    assert np.allclose(noise[:8], noise[0]) and np.allclose(noise[8:], noise[8])  # per joint
    assert np.all(noise[..., 2] == 0) and noise[0, :, :2].std() > 0.1
    point = build("transform", {"type": "PointNoise", "std": 2.0})
    noise = (point.apply_batch(frames.clone(), [8, 8], gen) - frames).numpy()
    assert 1.6 < noise.std() < 2.4 and noise[..., 2].std() > 1  # every value, conf included
    swap = build("transform", {"type": "InversePosesPre", "probability": 0.5})
    out = swap.apply_batch(frames.clone(), [8, 8], torch.Generator().manual_seed(5)).numpy()
    swapped = [np.array_equal(out[i], data[i, COCO_FLIP]) for i in range(16)]
    kept = [np.array_equal(out[i], data[i]) for i in range(16)]
    assert all(s or k for s, k in zip(swapped, kept)) and 0 < sum(swapped) < 16  # per frame


def test_sequence_selection() -> None:
    data = poses(20)
    frames = torch.from_numpy(np.concatenate([data, data[:15]]))
    select = build("transform", {"type": "RandomSelectSequence", "sequence_length": 6})
    assert select.output_lengths([20, 15]) == [6, 6]
    out = select.apply_batch(frames, [20, 15], torch.Generator().manual_seed(0)).numpy()
    for part, length in ((out[:6], 20), (out[6:], 15)):  # a window starting in [0, T - L)
        start = int(np.flatnonzero((data == part[0]).all(axis=(1, 2)))[0])
        assert 0 <= start < length - 6
        np.testing.assert_array_equal(part, data[start : start + 6])
    with pytest.raises(DataError, match="a sequence of 6 frames is too short for sequence_len"):
        select.output_lengths([6])
    center = transform({"type": "SelectSequenceCenter", "sequence_length": 6})
    np.testing.assert_array_equal(center(data), data[7:13])
    np.testing.assert_array_equal(center(data[:5]), data[:5])  # start int(2.5 - 3) = 0
    short = data[:3]  # start int(1.5 - 3) = -1: numpy's data[-1:5], the last frame
    np.testing.assert_array_equal(center(short), short[-1:])
    assert center.output_lengths([3, 5, 20]) == [1, 5, 6]


def test_two_view_joins_two_draws_along_the_frames() -> None:
    data = poses(10)
    cfg = {
        "type": "TwoView",
        "trf_cfg": [
            {"type": "RandomSelectSequence", "sequence_length": 4},
            {"type": "GaitGraph1Input"},
        ],
    }
    two = transform(cfg)
    assert two.frame_axis == 1 and two.output_lengths([10, 10]) == [8, 8]
    out = two(data, torch.Generator().manual_seed(1))  # OpenGait's layout [C, 2 * 4, V, 1]
    assert out.shape == (3, 8, 17, 1)
    for view in (out[:, :4, :, 0], out[:, 4:, :, 0]):
        pose = np.transpose(view, (1, 2, 0))
        start = int(np.flatnonzero((data == pose[0]).all(axis=(1, 2)))[0])
        np.testing.assert_array_equal(pose, data[start : start + 4])
    joints = transform({"type": "TwoView", "trf_cfg": [{"type": "SkeletonInput"}]})(data)
    assert joints.shape == (10, 6, 17, 1)  # no frame move: axis 1 (channels) doubles


# --- the batch pipeline ------------------------------------------------------------------


def test_a_transform_that_moves_the_frames_must_come_last() -> None:
    cfg = {"type": "Compose", "trf_cfg": [{"type": "GaitGraph1Input"}, {"type": "JointNoise"}]}
    with pytest.raises(ConfigError, match="GaitGraph1Input puts the frames on axis 1"):
        BatchPipeline(transform(cfg))


def test_pose_transform_on_other_joints_names_the_joint_format() -> None:
    frames = torch.zeros((4, 18, 3), dtype=torch.float64)
    with pytest.raises(DataError, match=r"\[T, 17, C >= 2\] \(joint_format 'coco'\)"):
        build("transform", {"type": "GaitTRMultiInput"}).apply_batch(frames, [4], None)
    with pytest.raises(ConfigError, match="joint_format: 'body' is not a joint layout"):
        transform({"type": "InversePosesPre", "joint_format": "body"})


def items(lengths: list[int]) -> list:
    return [
        ([poses(n, seed=i)], [f"{i:03d}", "nm-01", "000", [f"/d/{i:03d}/pose.pkl"]])
        for i, n in enumerate(lengths)
    ]


GAITGRAPH1_TRAIN = {
    "type": "TwoView",
    "trf_cfg": [
        {"type": "InversePosesPre", "probability": 0.1},
        {"type": "FlipSequence", "probability": 0.5},
        {"type": "RandomSelectSequence", "sequence_length": 6},
        {"type": "PointNoise", "std": 0.05},
        {"type": "JointNoise", "std": 0.2},
        {"type": "GaitGraph1Input"},
    ],
}


def test_collate_builds_fixed_batches_of_changed_length_and_layout() -> None:
    sampler = {"sample_type": "fixed_ordered", "frames_num_fixed": 10, "frames_skip_num": 0}
    collate = GaitCollate(["000", "001", "002"], sampler, [transform(GAITGRAPH1_TRAIN)])
    ipts, labs, _, _, seq_l = collate(items([12, 15, 11]))
    assert ipts[0].shape == (3, 3, 12, 17, 1) and ipts[0].dtype == torch.float32  # [n, C, T, V, I]
    assert seq_l is None and labs.tolist() == [0, 1, 2]


def test_collate_joins_whole_sequences_with_their_new_lengths() -> None:
    sampler = {"sample_type": "all_ordered"}
    cfg = {"type": "Compose", "trf_cfg": [{"type": "GaitTRMultiInput"}, {"type": "SkeletonInput"}]}
    collate = GaitCollate(["000", "001"], sampler, [transform(cfg)])
    batch = items([7, 5])
    ipts, _, _, _, seq_l = collate(batch)
    assert ipts[0].shape == (1, 12, 10, 17, 1) and seq_l.tolist() == [[7, 5]]
    second = ipts[0][0, 7:, :, :, 0].numpy().transpose(0, 2, 1)
    np.testing.assert_allclose(second, ref_gaittr(batch[1][0][0], COCO_PARENTS), atol=1e-5)
    select = {"type": "SelectSequenceCenter", "sequence_length": 4}
    ipts, _, _, _, seq_l = GaitCollate(["000", "001"], sampler, [transform(select)])(batch)
    assert ipts[0].shape == (1, 8, 17, 3) and seq_l.tolist() == [[4, 4]]


def test_pretreat_batch_gives_the_same_layout_and_lengths() -> None:
    data = [poses(12, seed=1), poses(9, seed=2)]
    steps = [{"type": "SelectSequenceCenter", "sequence_length": 4}, {"type": "GaitGraph1Input"}]
    cfg_t = transform({"type": "Compose", "trf_cfg": steps})
    ipts, _, _, _, seq_l = pretreat_batch([[data], [0, 1], [], [], None], cfg_t, "t")
    assert ipts[0].shape == (2, 3, 4, 17, 1) and seq_l is None
    np.testing.assert_allclose(ipts[0][1, :, :, :, 0].numpy(), data[1][2:6].transpose(2, 0, 1))
    joined = [[[np.concatenate(data)]], [0, 1], [], [], np.array([[12, 9]])]
    ipts, _, _, _, seq_l = pretreat_batch(joined, cfg_t, "t")
    assert ipts[0].shape == (1, 3, 8, 17, 1) and seq_l.tolist() == [[4, 4]]
