"""The collate function: every sample_type, OpenGait's batch format, modalities, config errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from gaitgen.runtime.data import collate as collate_module
from gaitgen.runtime.data.frames import FrameSampling
from gaitgen.runtime.data.transforms import get_transform
from gaitgen.runtime.errors import ConfigError, DataError

# these tests check OpenGait's float32 batches; tests/test_data_batch.py checks the uint8 path
GaitCollate = functools.partial(collate_module.GaitCollate, float_inputs=True)
CUT = get_transform({"type": "BaseSilCuttingTransform"})


def _sequence(length: int, label: str = "001", size: int = 64, offset: int = 0):
    """A sequence whose frame i is filled with (i + offset) % 256, so frames can be identified."""
    frames = (np.arange(length) + offset) % 256
    data = np.broadcast_to(frames[:, None, None], (length, size, size)).astype(np.uint8)
    return [data], [label, "nm-01", "090", [f"{label}.pkl"]]


def _frame_ids(ipts: torch.Tensor) -> list[int]:
    return [int(round(v)) for v in (ipts[..., 0, 0].flatten() * 255).tolist()]


def test_fixed_unordered_batch_format():
    collate = GaitCollate(
        ["001", "002"], {"sample_type": "fixed_unordered", "frames_num_fixed": 5}, [CUT]
    )
    ipts, labs, typs, viws, seq_l = collate([_sequence(8, "002"), _sequence(3, "001")])
    assert len(ipts) == 1 and ipts[0].shape == (2, 5, 64, 44) and ipts[0].dtype == torch.float32
    assert float(ipts[0].max()) <= 1.0
    assert labs.dtype == torch.long and labs.tolist() == [1, 0]
    assert typs == ["nm-01", "nm-01"] and viws == ["090", "090"] and seq_l is None
    first = _frame_ids(ipts[0][0])
    assert len(set(first)) == 5 and set(first) <= set(range(8))  # no repeats when long enough
    assert set(_frame_ids(ipts[0][1])) <= {0, 1, 2}  # repeats when shorter


def test_fixed_ordered_takes_sorted_frames_from_a_window():
    cfg = {"sample_type": "fixed_ordered", "frames_num_fixed": 4, "frames_skip_num": 2}
    sampling = FrameSampling.from_config(cfg, "s")
    for seed in range(20):
        idx = sampling.indices(30, torch.Generator().manual_seed(seed)).tolist()
        assert len(idx) == 4 and idx == sorted(idx) and idx[-1] - idx[0] <= 5
    short = sampling.indices(3, torch.Generator().manual_seed(0)).tolist()
    assert len(short) == 4 and set(short) <= {0, 1, 2}  # the sequence is repeated to fit


def test_unfixed_lengths_vary_and_are_concatenated():
    cfg = {"sample_type": "unfixed_unordered", "frames_num_min": 2, "frames_num_max": 6}
    collate = GaitCollate(["001"], cfg, CUT)
    torch.manual_seed(0)
    lengths = set()
    for _ in range(10):
        ipts, _, _, _, seq_l = collate([_sequence(10), _sequence(10)])
        assert seq_l.shape == (1, 2) and seq_l.dtype == torch.long
        assert ipts[0].shape == (1, int(seq_l.sum()), 64, 44)
        lengths.update(seq_l.flatten().tolist())
    assert lengths <= set(range(2, 7)) and len(lengths) > 1


def test_all_ordered_keeps_every_frame_in_order_and_limit():
    collate = GaitCollate(["001"], {"sample_type": "all_ordered"}, CUT)
    ipts, _, _, _, seq_l = collate([_sequence(4), _sequence(3, offset=100)])
    assert seq_l.tolist() == [[4, 3]] and ipts[0].shape == (1, 7, 64, 44)
    assert _frame_ids(ipts[0]) == [0, 1, 2, 3, 100, 101, 102]
    limited = GaitCollate(["001"], {"sample_type": "all_ordered", "frames_all_limit": 2}, CUT)
    _, _, _, _, seq_l = limited([_sequence(4), _sequence(1)])
    assert seq_l.tolist() == [[2, 1]]


def test_all_unordered_and_unfixed_ordered_are_valid():
    for cfg in (
        {"sample_type": "all_unordered"},
        {
            "sample_type": "unfixed_ordered",
            "frames_num_min": 2,
            "frames_num_max": 3,
            "frames_skip_num": 1,
        },
    ):
        ipts, _, _, _, seq_l = GaitCollate(["001"], cfg, CUT)([_sequence(6)])
        assert ipts[0].shape[1] == int(seq_l.sum())


def test_modalities_share_frame_indices_and_have_their_own_transforms():
    data, info = _sequence(9)
    second = data[0][:, :8, :8].copy()  # [T, 8, 8]
    collate = GaitCollate(
        ["001"],
        {"sample_type": "fixed_unordered", "frames_num_fixed": 4},
        [CUT, get_transform({"type": "BaseSilTransform", "divsor": 1.0})],
        modalities=2,
    )
    ipts, *_ = collate([([data[0], second], info)])
    assert ipts[0].shape == (1, 4, 64, 44) and ipts[1].shape == (1, 4, 8, 8)
    assert _frame_ids(ipts[0]) == [int(v) for v in ipts[1][0, :, 0, 0].tolist()]


def test_transform_count_must_match_modalities():
    with pytest.raises(ConfigError, match="trainer_cfg.transform: 2 transforms for 1 modalities"):
        GaitCollate(
            ["001"], {"sample_type": "all_ordered"}, [CUT, CUT], 1, "s", "trainer_cfg.transform"
        )


@pytest.mark.parametrize(
    "cfg, message",
    [
        ({"sample_type": "fixed_random"}, "sample_type"),
        ({"sample_type": "fixed_unordered"}, "frames_num_fixed"),
        ({"sample_type": "unfixed_unordered", "frames_num_min": 5, "frames_num_max": 2}, "exceeds"),
        ({"sample_type": "fixed_unordered", "frames_num_fixed": 0}, "frames_num_fixed"),
        ({"sample_type": "all_ordered", "frames_all_limit": 0}, "frames_all_limit"),
    ],
)
def test_sample_type_errors_name_the_key(cfg, message):
    with pytest.raises(ConfigError, match=message) as info:
        FrameSampling.from_config(cfg, "trainer_cfg.sampler")
    assert str(info.value).startswith("trainer_cfg.sampler.")


def _odd(frames: np.ndarray) -> tuple:
    return [frames], ["001", "nm-01", "090", ["odd.pkl"]]


@pytest.mark.parametrize("odd_first", [False, True])
def test_frames_of_different_sizes_in_a_batch_name_the_odd_file(odd_first: bool):
    collate = GaitCollate(["001"], {"sample_type": "fixed_unordered", "frames_num_fixed": 2}, CUT)
    batch = [_sequence(4, offset=i) for i in range(3)]
    odd = _odd(np.zeros((4, 32, 64), np.uint8))
    batch = [odd, *batch] if odd_first else [*batch, odd]  # the odd one, wherever it is
    with pytest.raises(
        DataError,
        match=r"odd.pkl: frames of shape \(32, 64\) where the other 3 sequence\(s\) of the "
        r"batch have \(64, 64\)",
    ):
        collate(batch)


@pytest.mark.parametrize("odd_first", [False, True])
def test_frames_of_another_dtype_in_a_batch_name_the_odd_file(odd_first: bool):
    collate = GaitCollate(["001"], {"sample_type": "fixed_unordered", "frames_num_fixed": 2}, CUT)
    batch = [_sequence(4, offset=i) for i in range(3)]
    odd = _odd(np.full((4, 64, 64), 0.5, np.float64))
    batch = [odd, *batch] if odd_first else [*batch, odd]
    with pytest.raises(
        DataError,
        match=r"odd.pkl: frames of dtype float64 where the other 3 sequence\(s\) of the batch "
        r"have uint8; store every sequence of a modality with one dtype",
    ):
        collate(batch)


def test_float_frames_with_nan_name_the_file():
    collate = GaitCollate(["001"], {"sample_type": "all_ordered"}, CUT)
    clean = np.full((4, 64, 64), 0.5, np.float32)
    dirty = clean.copy()
    dirty[1, 10, 10] = np.nan
    good = ([clean], ["001", "nm-01", "090", ["good.pkl"]])
    assert torch.isfinite(collate([good])[0][0]).all()
    with pytest.raises(DataError, match=r"odd.pkl: frames hold NaN or infinite values"):
        collate([good, _odd(dirty)])


def test_collate_runs_random_transforms_on_sequences_of_different_lengths():
    data = [np.full((n, 64, 64), 200, np.uint8) for n in (7, 9, 12)]
    batch = [([d], ["001", "nm-01", "000", [f"{i}.pkl"]]) for i, d in enumerate(data)]
    transform = get_transform(
        {
            "type": "Compose",
            "trf_cfg": [
                {"type": "BaseSilCuttingTransform"},
                {"type": "RandomRotate", "prob": 1.0},
                {"type": "RandomErasing", "prob": 1.0},
            ],
        }
    )
    collate = collate_module.GaitCollate(["001"], {"sample_type": "all_ordered"}, transform)
    torch.manual_seed(0)
    ipts, _, _, _, seq_l = collate(batch)
    assert seq_l.tolist() == [[7, 9, 12]] and ipts[0].shape == (1, 28, 64, 44)
    assert ipts[0].dtype == torch.uint8 and (ipts[0] == 0).any()  # borders and rectangles


@pytest.mark.parametrize("length", [40, 5])
def test_fixed_allordered_draws_unordered_frames_in_time_order(length):
    """OpenGait's fixed_allordered: frames_num_fixed frames from the whole sequence (with
    replacement only when it is shorter), sorted; no frames_skip_num is needed."""
    cfg = {"sample_type": "fixed_allordered", "frames_num_fixed": 8}
    allordered = FrameSampling.from_config(cfg, "trainer_cfg.sampler")
    unordered = FrameSampling.from_config(
        {**cfg, "sample_type": "fixed_unordered"}, "trainer_cfg.sampler"
    )
    for seed in range(5):
        got = allordered.indices(length, torch.Generator().manual_seed(seed))
        drawn = unordered.indices(length, torch.Generator().manual_seed(seed))
        assert got.tolist() == sorted(drawn.tolist())
        assert len(got) == 8 and (length < 8 or len(set(got.tolist())) == 8)
    spread = {
        tuple(allordered.indices(length, torch.Generator().manual_seed(s)).tolist())
        for s in range(5)
    }
    assert len(spread) > 1 and all(max(t) < length for t in spread)
    batch = GaitCollate(["001"], cfg, CUT)([_sequence(length, offset=7)])
    ids = _frame_ids(batch[0][0])
    assert ids == sorted(ids) and batch[4] is None


def test_sample_type_error_lists_allordered():
    with pytest.raises(ConfigError, match="fixed_allordered"):
        FrameSampling.from_config({"sample_type": "fixed_bogus"}, "trainer_cfg.sampler")
