"""GaitSSB's part dilation / blur and DA4GaitSSB, held against references written here.

The references are plain numpy loops over pixels with the structuring elements written out by
hand (as ``cv2.getStructuringElement`` draws them) and OpenCV's 3x3 Gaussian kernel with its
BORDER_REFLECT_101 edges, so they share no code with the transforms.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gaitgen.runtime.data.part_transforms import (
    DA4GaitSSB,
    RandomPartBlur,
    RandomPartDilate,
    blur_threshold,
    dilate,
    structuring_element,
)
from gaitgen.runtime.data.pipeline import BatchPipeline
from gaitgen.runtime.data.transforms import get_transform
from gaitgen.runtime.errors import ConfigError

# cv2.getStructuringElement(shape, (width, height)), written out
ELEMENTS = {
    ("RECT", 5, 3): np.ones((3, 5)),
    ("CROSS", 3, 5): np.array([[0, 1, 0], [0, 1, 0], [1, 1, 1], [0, 1, 0], [0, 1, 0]]),
    ("CROSS", 5, 3): np.array([[0, 0, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 1, 0, 0]]),
    ("ELLIPSE", 3, 3): np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]),
    ("ELLIPSE", 3, 5): np.array([[0, 1, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1], [0, 1, 0]]),
    ("ELLIPSE", 5, 3): np.array([[0, 0, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 1, 0, 0]]),
}


def reference_dilate(image: np.ndarray, element: np.ndarray) -> np.ndarray:
    kh, kw = element.shape
    out = np.zeros_like(image)
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            best = None
            for i in range(kh):
                for j in range(kw):
                    yy, xx = y + i - kh // 2, x + j - kw // 2
                    if element[i, j] and 0 <= yy < image.shape[0] and 0 <= xx < image.shape[1]:
                        best = image[yy, xx] if best is None else max(best, image[yy, xx])
            out[y, x] = best
    return out


def reference_blur(image: np.ndarray) -> np.ndarray:
    kernel = np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25])
    padded = np.pad(image.astype(np.float64) / 255.0, 1, mode="reflect")  # = REFLECT_101
    out = np.zeros(image.shape)
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            out[y, x] = (padded[y : y + 3, x : x + 3] * kernel).sum()
    return (out > 0.2).astype(np.float64)


@pytest.mark.parametrize("key", sorted(ELEMENTS))
def test_structuring_elements_are_opencv_s(key):
    mode, width, height = key
    assert structuring_element(mode, width, height).numpy().astype(int).tolist() == (
        ELEMENTS[key].astype(int).tolist()
    )


@pytest.mark.parametrize("key", sorted(ELEMENTS))
def test_dilation_matches_a_pixel_loop(key):
    rng = np.random.default_rng(3)
    frames = (rng.random((2, 9, 7)) > 0.8).astype(np.uint8) * rng.integers(1, 256, (2, 9, 7))
    frames = frames.astype(np.uint8)
    element = ELEMENTS[key]
    out = dilate(torch.from_numpy(frames), torch.from_numpy(element.astype(bool))).numpy()
    for f in range(2):
        np.testing.assert_array_equal(out[f], reference_dilate(frames[f], element))
    as_float = dilate(torch.from_numpy(frames / 255.0), torch.from_numpy(element.astype(bool)))
    np.testing.assert_allclose(as_float.numpy(), out / 255.0)


def test_blur_threshold_matches_a_pixel_loop_on_both_scales():
    rng = np.random.default_rng(4)
    frames = rng.integers(0, 256, (3, 8, 6)).astype(np.uint8)
    frames[0, 0] = 255  # edges matter: reflected, not zero-padded
    out = blur_threshold(torch.from_numpy(frames), 255.0).numpy()
    normalised = blur_threshold(torch.from_numpy(frames / 255.0), 1.0).numpy()
    for f in range(3):
        expected = reference_blur(frames[f])
        np.testing.assert_array_equal(out[f], expected * 255)
        np.testing.assert_array_equal(normalised[f], expected)
    one_row = blur_threshold(torch.tensor([[[0, 255, 0, 0]]], dtype=torch.uint8), 255.0)
    # one row: its reflected edges; 0.25*255 + 0.25*255 at x=0 and x=2 exceed 0.2*255
    assert one_row.tolist() == [[[255, 255, 255, 0]]]


def test_part_dilate_changes_only_the_band_of_chosen_sequences():
    frames = torch.zeros(6, 20, 12, dtype=torch.uint8)
    frames[:, :, 6] = 255  # a vertical line: any dilation widens it
    out = RandomPartDilate(prob=1.0, top_range=(5, 5), bot_range=(9, 9)).apply_batch(
        frames.clone(), [3, 3], torch.Generator().manual_seed(0)
    )
    changed = (out != frames).any(dim=-1)  # [F, rows]
    assert changed[:, 5:9].all() and not changed[:, :5].any() and not changed[:, 9:].any()
    kept = RandomPartDilate(prob=0.0).apply_batch(frames.clone(), [3, 3], None)
    assert torch.equal(kept, frames)


def test_part_blur_band_and_per_frame():
    frames = torch.zeros(4, 20, 10, dtype=torch.uint8)
    frames[:, 10, 4] = 255  # a lone pixel: the blur (1/4 at its centre) keeps it, clears none
    frames[:, 12, 2] = 40  # a faint pixel: blurred below 0.2, cleared
    blur = RandomPartBlur(prob=1.0, top_range=(8, 8), bot_range=(15, 15))
    out = blur.apply_batch(frames.clone(), [2, 2], torch.Generator().manual_seed(1))
    assert out[:, 12, 2].eq(0).all() and out[:, 10, 4].eq(255).all()
    assert set(out.unique().tolist()) <= {0, 255}
    per_frame = RandomPartBlur(prob=0.5, per_frame=True)
    draws = [
        per_frame.apply_batch(frames.clone(), [4], torch.Generator().manual_seed(s))
        for s in range(8)
    ]
    assert len({tuple((d != frames).flatten(1).any(1).tolist()) for d in draws}) > 1


def test_da4gaitssb_builds_from_a_config_and_runs_in_the_pipeline():
    transform = get_transform({"type": "DA4GaitSSB", "cutting": 10}, "trainer_cfg.transform")
    assert isinstance(transform, DA4GaitSSB)
    names = [type(step).__name__ for step in BatchPipeline(transform).steps]
    assert names == [
        "RandomAffine",
        "RandomPerspective",
        "BaseSilCuttingTransform",
        "RandomHorizontalFlip",
        "RandomPartDilate",
        "RandomPartBlur",
    ]
    frames = (torch.rand(8, 64, 64) > 0.5).to(torch.uint8) * 255
    out, lengths, maps = BatchPipeline(transform).run(
        frames, [4, 4], torch.Generator().manual_seed(0)
    )
    assert out.dtype == torch.uint8 and out.shape == (8, 64, 44) and lengths == [4, 4]
    assert [m.divisor for m in maps] == [255.0]
    with pytest.raises(ConfigError, match="top_range"):
        get_transform({"type": "DA4GaitSSB", "top_range": [20, 9]}, "trainer_cfg.transform")
