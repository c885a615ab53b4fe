"""Skeleton maps: byte-equal to OpenGait's pretreatment_heatmap.py on its recorded cases.

tests/fixtures/opengait/heatmap/<case>.npz were recorded from OpenGait's own code (its
``TransferDataset.__getitem__`` on the CPU): ``pose`` (as pickled; GREW: rows [T, 53]),
``normalized_pose`` (after COCO18toCOCO17, PadKeypoints and CenterAndScaleNormalizer) and
``heatmap`` (uint8 [T, 2, 64, 64]).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gaitgen.runtime.data.area_resize import resize_area
from gaitgen.runtime.data.pose_impute import knn_fill
from gaitgen.runtime.data.skeleton_maps import (
    SkeletonMapConfig,
    draw_maps,
    gray_indices,
    normalise_pose,
    skeleton_maps,
)

FIXTURES = Path(__file__).parent / "fixtures" / "opengait" / "heatmap"
CASES = sorted(p.stem for p in FIXTURES.glob("*.npz"))


def _case(name: str) -> tuple[np.ndarray, bool, dict]:
    with np.load(FIXTURES / f"{name}.npz") as data:
        case = {key: data[key] for key in data.files}
    pose = case["pose"]
    if pose.ndim == 2:  # GREW: OpenGait takes [:, 2:] and reshapes to [T, 17, 3]
        pose = pose[:, 2:].reshape(-1, 17, 3)
    return pose, bool(case["openpose"]), case


def test_every_recorded_case_is_shipped():
    assert CASES == [
        "coco17-clean",
        "coco17-joint-never-seen",
        "coco17-low-score",
        "coco17-missing",
        "coco18-openpose-to-coco17",
        "grew-rows",
    ]


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("name", CASES)
def test_maps_equal_opengait(name, exact):
    pose, openpose, case = _case(name)
    maps = skeleton_maps(pose, openpose=openpose, exact=exact)
    assert maps.dtype == np.uint8 and maps.shape == case["heatmap"].shape
    assert np.array_equal(maps, case["heatmap"])


@pytest.mark.parametrize("name", CASES)
def test_normalised_pose_matches_opengait(name):
    pose, openpose, case = _case(name)
    # the imputed joints go through BLAS products: equal up to its rounding (measured 8e-12 px)
    np.testing.assert_allclose(
        normalise_pose(pose, openpose=openpose), case["normalized_pose"], rtol=0, atol=1e-9
    )


def test_joint_never_seen_keeps_the_sequence_as_it_was():
    pose, _, _ = _case("coco17-joint-never-seen")
    coordinates = pose[..., :2].reshape(len(pose), -1)
    assert (coordinates == 0).all(axis=0).any()
    assert np.array_equal(knn_fill(coordinates), coordinates)  # OpenGait's fallback


def test_knn_fill_uses_the_nearest_frames_by_inverse_distance():
    frames = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [0.0, 21.0]])
    filled = knn_fill(frames)
    # distances over the shared column: 11, 1, 9 (scaled by 2 columns / 1 present)
    weights = 1 / (np.sqrt(2) * np.array([11.0, 1.0, 9.0]))
    assert filled[3, 0] == pytest.approx((weights * [1, 2, 3]).sum() / weights.sum())
    assert np.array_equal(filled[:3], frames[:3]) and filled[3, 1] == 21.0


def test_area_resize_block_mean_and_weights():
    image = np.arange(16.0).reshape(1, 4, 4)
    halves = resize_area(image, (2, 2))
    assert np.array_equal(halves[0], [[2.5, 4.5], [10.5, 12.5]])
    thirds = resize_area(np.ones((1, 5, 7)), (3, 3))  # fractional cells keep a flat image flat
    np.testing.assert_allclose(thirds, 1.0, atol=1e-6)
    grown = resize_area(np.array([[[0.0, 1.0]]]), (1, 4))
    assert grown.shape == (1, 1, 4) and grown[0, 0, 0] == 0.0 and grown[0, 0, -1] == 1.0


RANDOM = Path(__file__).parent / "fixtures" / "skeleton_maps" / "random_poses.npz"


def test_maps_of_random_poses_are_unchanged():
    """300 random sequences (COCO-17 and OpenPose-18, 1-24 frames, missing and faint joints,
    joints on top of each other, poses wider than the canvas): the SHA-256 of each sequence's
    maps as the float64 implementation of commit 9e0b864 drew them (one Gaussian at a time on
    a grid, checked byte for byte against OpenGait above). Coordinates are stored as
    multiples of 1/16 pixel and confidences of 1/50000, so the poses load exactly."""
    import hashlib

    with np.load(RANDOM) as data:
        case = {key: data[key] for key in data.files}
    bounds = np.concatenate([[0], np.cumsum(case["lengths"])])
    assert len(case["lengths"]) == 300 and case["openpose"].any() and not case["openpose"].all()
    changed = []
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        xy = case["xy"][lo:hi] / 16
        score = case["score"][lo:hi, :, None] / 50000
        pose = np.concatenate([xy, score], axis=-1)[:, : case["joints"][i]]
        maps = skeleton_maps(pose, openpose=bool(case["openpose"][i]))
        assert maps.shape == (hi - lo, 2, 64, 64)
        if hashlib.sha256(maps.tobytes()).digest() != case["digest"][i].tobytes():
            changed.append(i)
    assert not changed, f"maps of random sequences {changed[:10]} differ"


def _boundary_poses(seed: int) -> np.ndarray:
    """Normalised poses whose maps sit on grey-level boundaries: joints on whole and half
    pixels, confidences k / 256 (a joint's centre is exactly k / 256; a limb's ridge is
    ``exp(log(k / 256))``, a rounding away from it), zero-length limbs, stacked joints."""
    rng = np.random.default_rng(seed)
    t = 40
    xy = rng.integers(20, 108, (t, 17, 2)).astype(np.float64)
    xy[: t // 2] += rng.choice([0.0, 0.5, 0.25], (t // 2, 17, 2))
    score = rng.integers(1, 257, (t, 17)) / 256.0
    score[::3] = rng.choice([0.5, 0.25, 1.0, 0.75, 0.125], (len(score[::3]), 17))
    xy[::4, 5] = xy[::4, 0]
    return np.concatenate([xy, score[..., None]], axis=-1)


@pytest.mark.parametrize("seed", range(3))
def test_float32_drawing_redraws_every_pixel_on_a_grey_level_boundary(seed):
    """The float32 drawing gives the float64 drawing's grey levels on poses built to sit on
    the levels' boundaries, where float32 alone gets thousands of pixels one level off (it
    fails if the float64 redraw of uncertain pixels is skipped)."""
    config = SkeletonMapConfig()
    pose = _boundary_poses(seed)
    on_boundary = 0
    for maps in draw_maps(pose, config):
        scaled = maps.astype(np.float64) * 256
        on_boundary += int(((np.abs(scaled - np.round(scaled)) < 1e-4) & (scaled >= 1)).sum())
    assert on_boundary > 500
    fast = gray_indices(pose, config)
    exact = gray_indices(pose, config, exact=True)
    for channel, (a, b) in enumerate(zip(fast, exact)):
        assert a.dtype == np.uint8 and a.shape == (40, 128, 128)
        assert np.array_equal(a, b), f"channel {channel}: {(a != b).sum()} pixels differ"


def test_float32_drawing_of_an_infinite_confidence_matches_float64():
    """An infinite confidence times a profile underflowing to 0 is NaN, grey 0 in float64;
    the float32 drawing must redraw it rather than clip it to the top level."""
    rng = np.random.default_rng(1)
    pose = np.concatenate([rng.uniform(20, 108, (6, 17, 2)), rng.uniform(0, 1, (6, 17, 1))], -1)
    pose[0, 3, 2] = np.inf
    config = SkeletonMapConfig()
    with np.errstate(invalid="ignore", over="ignore"):
        fast = gray_indices(pose, config)
        exact = gray_indices(pose, config, exact=True)
    for a, b in zip(fast, exact):
        assert np.array_equal(a, b)


def test_frames_drawn_in_passes_give_the_maps_of_one_pass(monkeypatch):
    """A sequence longer than FRAMES_PER_PASS (drawn a pass at a time, each pass on the
    union of its own frames' boxes) gets the bytes of the whole sequence drawn at once."""
    from gaitgen.runtime.data import skeleton_maps as module

    pose = _boundary_poses(1)  # 40 frames
    assert len(pose) > module.FRAMES_PER_PASS
    passes = skeleton_maps(pose), skeleton_maps(pose, exact=True)
    monkeypatch.setattr(module, "FRAMES_PER_PASS", len(pose))
    whole = skeleton_maps(pose, exact=True)
    assert all(np.array_equal(maps, whole) for maps in passes)
