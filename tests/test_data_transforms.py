"""Transforms: shapes, dtypes, probabilities, seeds, batches, config errors, the uint8 pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gaitgen.runtime.data.normalisers import (
    BaseParsingCuttingTransform,
    BaseRgbTransform,
    BaseSilCuttingTransform,
    BaseSilTransform,
    NoOperation,
)
from gaitgen.runtime.data.pipeline import BatchPipeline
from gaitgen.runtime.data.transform_base import chosen_sequences, map_sequences, uniform
from gaitgen.runtime.data.transforms import (
    Compose,
    RandomAffine,
    RandomErasing,
    RandomHorizontalFlip,
    RandomPerspective,
    RandomRotate,
    get_transform,
)
from gaitgen.runtime.data.warp import rotation_matrix, warp
from gaitgen.runtime.errors import ConfigError, RegistryError

RANDOM = {
    "RandomHorizontalFlip": RandomHorizontalFlip,
    "RandomErasing": RandomErasing,
    "RandomErasingPerFrame": lambda prob: RandomErasing(prob, per_frame=True),
    "RandomRotate": RandomRotate,
    "RandomPerspective": RandomPerspective,
    "RandomAffine": RandomAffine,
}


def _silhouettes(frames: int = 6, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Frames with a bright, asymmetric body so that every augmentation shows."""
    generator = torch.Generator().manual_seed(seed)
    seq = torch.randint(0, 256, (frames, size, size), dtype=torch.uint8, generator=generator)
    seq[:, 10:50, 20:30] = 255
    return seq  # [s, h, w]


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_transform_keeps_shape_and_uint8(name):
    seq = _silhouettes()
    out = RANDOM[name](1.0)(seq, torch.Generator().manual_seed(1))
    assert out.shape == seq.shape and out.dtype == torch.uint8


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_probability_zero_is_identity(name):
    seq = _silhouettes()
    for seed in range(5):
        out = RANDOM[name](0.0)(seq, torch.Generator().manual_seed(seed))
        assert torch.equal(out, seq)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_probability_one_always_changes(name):
    seq = _silhouettes()
    original = seq.clone()
    for seed in range(10):
        out = RANDOM[name](1.0)(seq, torch.Generator().manual_seed(seed))
        assert not torch.equal(out, seq), f"seed {seed} left the sequence unchanged"
    assert torch.equal(seq, original), "a transform changed its input in place"


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_same_seed_same_output(name):
    seq = _silhouettes()
    transform = RANDOM[name](0.5)
    for seed in range(4):
        first = transform(seq, torch.Generator().manual_seed(seed))
        second = transform(seq, torch.Generator().manual_seed(seed))
        assert torch.equal(first, second)
    torch.manual_seed(3)
    first = transform(seq)
    torch.manual_seed(3)
    assert torch.equal(first, transform(seq))  # the global RNG, as in DataLoader workers


def _split(frames: torch.Tensor, lengths: list[int]) -> list[torch.Tensor]:
    return list(frames.split(lengths))


@pytest.mark.parametrize("name", sorted(RANDOM))
@pytest.mark.parametrize("lengths", [[4, 4, 4, 4], [3, 5, 2, 4]])
def test_batch_probability_zero_is_identity_and_one_changes_every_sequence(name, lengths):
    original = _silhouettes(sum(lengths))
    same = RANDOM[name](0.0).apply_batch(original.clone(), lengths, torch.Generator())
    assert torch.equal(same, original)
    changed = RANDOM[name](1.0).apply_batch(
        original.clone(), lengths, torch.Generator().manual_seed(3)
    )
    assert changed.shape == original.shape and changed.dtype == torch.uint8
    for before, after in zip(_split(original, lengths), _split(changed, lengths)):
        assert not torch.equal(before, after)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_batch_same_seed_same_output(name):
    lengths = [5, 5, 5]
    frames = _silhouettes(sum(lengths))
    transform = RANDOM[name](0.5)
    first = transform.apply_batch(frames.clone(), lengths, torch.Generator().manual_seed(7))
    second = transform.apply_batch(frames.clone(), lengths, torch.Generator().manual_seed(7))
    assert torch.equal(first, second)


def test_rotation_gives_each_sequence_its_own_angle_as_one_warp_would():
    lengths = [6, 6, 6]
    frames = _silhouettes(sum(lengths))
    out = RandomRotate(1.0, degree=10).apply_batch(
        frames.clone(), lengths, torch.Generator().manual_seed(11)
    )
    # the same draws, in the same order: which sequences, then one angle per chosen sequence
    generator = torch.Generator().manual_seed(11)
    chosen = chosen_sequences(1.0, 3, generator)
    degrees = uniform(-10, 10, generator, len(chosen))
    assert chosen == [0, 1, 2] and len(set(degrees.tolist())) == 3
    for i, seq in enumerate(_split(frames, lengths)):
        matrix = rotation_matrix(32, 32, -degrees[i : i + 1])
        expected = warp(seq.unsqueeze(0), matrix)[0]
        assert torch.equal(out[6 * i : 6 * (i + 1)], expected)


def test_map_sequences_changes_only_the_chosen_sequences_in_place():
    calls = []

    def double(sequence, j):
        calls.append((tuple(sequence.shape), sequence.dtype, j))
        return sequence * 2

    frames = torch.ones(9, 2, 2, dtype=torch.uint8)
    out = map_sequences(frames, [2, 3, 4], [0, 2], double, dtype=torch.float32)
    assert out is frames
    assert calls == [((1, 2, 2, 2), torch.float32, 0), ((1, 4, 2, 2), torch.float32, 1)]
    assert frames[:2].eq(2).all() and frames[2:5].eq(1).all() and frames[5:].eq(2).all()


def test_erasing_batch_zeroes_one_rectangle_per_chosen_sequence():
    lengths = [3, 4]
    frames = torch.full((7, 32, 32), 255, dtype=torch.uint8)
    out = RandomErasing(1.0).apply_batch(frames, lengths, torch.Generator().manual_seed(0))
    first, second = out[:3] == 0, out[3:] == 0
    assert all(torch.equal(first[0], f) for f in first) and first[0].any()
    assert all(torch.equal(second[0], f) for f in second) and second[0].any()


def test_float_input_stays_float():
    seq = _silhouettes().float() / 255
    for make in RANDOM.values():
        out = make(1.0)(seq, torch.Generator().manual_seed(0))
        assert out.dtype == torch.float32 and out.shape == seq.shape


def test_flip_mirrors_columns_and_numpy_in_numpy_out():
    seq = _silhouettes().numpy()
    out = RandomHorizontalFlip(1.0)(seq)
    assert isinstance(out, np.ndarray) and np.array_equal(out, seq[..., ::-1])


def test_rotation_by_zero_degrees_is_exact_and_90_turns_a_bar():
    seq = _silhouettes()
    assert torch.equal(RandomRotate(1.0, degree=0)(seq), seq)
    bar = torch.zeros(1, 9, 9, dtype=torch.uint8)
    bar[0, :, 4] = 200  # a vertical bar through the centre
    turned = RandomRotate(1.0, degree=90)
    outs = [turned(bar, torch.Generator().manual_seed(s)) for s in range(20)]
    # some angle near +-90 turns the bar horizontal: the middle row lights up
    assert any(int(o[0, 4].gt(100).sum()) >= 7 for o in outs)


def test_erasing_zeroes_one_rectangle_per_sequence():
    seq = torch.full((5, 32, 32), 255, dtype=torch.uint8)
    out = RandomErasing(1.0)(seq, torch.Generator().manual_seed(0))
    zeros = out == 0
    assert zeros.any()
    assert all(torch.equal(zeros[0], zeros[i]) for i in range(5))  # same rectangle each frame
    rows, cols = zeros[0].any(1).nonzero(), zeros[0].any(0).nonzero()
    height, width = len(rows), len(cols)
    assert int(zeros[0].sum()) == height * width  # a filled rectangle
    assert 0.05 * 1024 * 0.5 <= height * width <= 0.2 * 1024 * 1.5


def test_erasing_per_frame_differs_between_frames():
    seq = torch.full((8, 32, 32), 255, dtype=torch.uint8)
    out = RandomErasing(1.0, per_frame=True)(seq, torch.Generator().manual_seed(0))
    masks = [out[i] == 0 for i in range(8)]
    assert all(m.any() for m in masks)
    assert any(not torch.equal(masks[0], m) for m in masks[1:])


def test_normalisers_match_opengait():
    seq = _silhouettes().numpy()
    cut = BaseSilCuttingTransform()(seq)
    assert cut.shape == (6, 64, 44) and cut.dtype == np.float32
    assert np.allclose(cut, seq[..., 10:-10] / 255.0)
    assert BaseSilCuttingTransform(cutting=4)(seq).shape == (6, 64, 56)
    sil = BaseSilTransform(divsor=2.0, img_shape=[32, 128])(seq)
    assert sil.shape == (6, 32, 128) and np.allclose(sil.reshape(6, 64, 64), seq / 2.0)
    rgb = np.random.default_rng(0).integers(0, 256, (2, 3, 4, 4)).astype(np.uint8)
    out = BaseRgbTransform(mean=[1, 2, 3], std=[2, 4, 8])(rgb)
    expected = (rgb - np.array([1, 2, 3]).reshape(1, 3, 1, 1)) / np.array([2, 4, 8]).reshape(
        1, 3, 1, 1
    )
    assert np.allclose(out, expected)
    assert np.array_equal(NoOperation()(seq), seq)


def _opengait_parsing_cut(seq: np.ndarray, divsor: float = 255.0) -> np.ndarray:
    """What OpenGait's BaseParsingCuttingTransform computes for one sequence (64 wide)."""
    cut = seq[..., 10:-10]
    return (cut / divsor if cut.max() == 255 else cut / 1.0).astype(np.float32)


def test_parsing_cutting_divides_only_sequences_that_reach_255():
    parsing = torch.randint(0, 12, (5, 64, 64), dtype=torch.uint8)  # part labels
    silhouette = _silhouettes(frames=3)
    batch = torch.cat([parsing, silhouette, parsing[:2]])  # three sequences, one batch
    out = BaseParsingCuttingTransform().apply_batch(batch.clone(), [5, 3, 2], None)
    assert out.shape == (10, 64, 44) and out.dtype == torch.float32
    expected = np.concatenate(
        [_opengait_parsing_cut(s.numpy()) for s in (parsing, silhouette, parsing[:2])]
    )
    assert np.array_equal(out.numpy(), expected)
    assert np.array_equal(BaseParsingCuttingTransform()(parsing.numpy()), expected[:5])
    assert BaseParsingCuttingTransform(cutting=0)(parsing.numpy()).shape == (5, 64, 64)


def test_parsing_cutting_in_the_batch_pipeline_and_by_name():
    parsing = torch.randint(0, 12, (4, 64, 64), dtype=torch.uint8)
    transform = get_transform(
        {
            "type": "Compose",
            "trf_cfg": [
                {"type": "BaseParsingCuttingTransform"},
                {"type": "RandomHorizontalFlip", "prob": 1.0},
            ],
        }
    )
    out, lengths, maps = BatchPipeline(transform).run(parsing.clone(), [2, 2], None)
    assert maps == () and lengths == [2, 2] and out.dtype == torch.float32
    assert torch.equal(out, parsing[..., 10:-10].flip(-1).float())
    with pytest.raises(ConfigError, match="cutting: expected a whole number >= 0"):
        get_transform({"type": "BaseParsingCuttingTransform", "cutting": -1})


def test_pipeline_keeps_uint8_and_defers_scaling():
    seq = _silhouettes()
    transform = get_transform(
        {
            "type": "Compose",
            "trf_cfg": [
                {"type": "BaseSilCuttingTransform"},
                {"type": "RandomHorizontalFlip", "prob": 1.0},
                {"type": "RandomErasing", "prob": 1.0},
            ],
        }
    )
    out, lengths, maps = BatchPipeline(transform).run(
        seq.clone(), [len(seq)], torch.Generator().manual_seed(0)
    )
    assert out.dtype == torch.uint8 and out.shape == (6, 64, 44) and lengths == [6]
    batch = maps[0].apply_(out.float())
    eager = transform(seq, torch.Generator().manual_seed(0))  # OpenGait order: scale first
    assert torch.allclose(batch, eager)


def test_pipeline_applies_offset_normaliser_before_zero_fill():
    rgb = torch.full((2, 3, 8, 8), 100, dtype=torch.uint8)
    transform = Compose([])
    transform.transforms = [
        BaseRgbTransform(mean=[100, 100, 100], std=[1, 1, 1]),
        RandomRotate(1.0, 45),
    ]
    out, _, maps = BatchPipeline(transform).run(rgb, [2], torch.Generator().manual_seed(0))
    assert maps == () and out.dtype == torch.float32
    assert torch.allclose(out, torch.zeros_like(out))  # (100 - 100) then zeros at the borders


def test_get_transform_builds_lists_and_none():
    built = get_transform([{"type": "BaseSilCuttingTransform"}, None])
    assert isinstance(built[0], BaseSilCuttingTransform) and isinstance(built[1], NoOperation)
    compose = get_transform({"type": "Compose", "trf_cfg": [{"type": "RandomRotate", "prob": 0.2}]})
    assert isinstance(compose, Compose) and compose.transforms[0].prob == 0.2


def test_unknown_type_lists_close_matches():
    with pytest.raises(RegistryError, match="RandomRotate") as info:
        get_transform([{"type": "RandomRotat"}], "trainer_cfg.transform")
    assert "trainer_cfg.transform[0].type" in str(info.value)


@pytest.mark.parametrize(
    "cfg, message",
    [
        ({"type": "RandomRotate", "probb": 0.3}, r"trainer_cfg.transform.probb.*'prob'"),
        ({"type": "RandomErasing", "prob": 1.5}, r"trainer_cfg.transform.prob"),
        ({"prob": 0.5}, "needs a 'type'"),
        ({"type": "Compose"}, "trf_cfg"),
    ],
)
def test_bad_transform_config(cfg, message):
    with pytest.raises(ConfigError, match=message):
        get_transform(cfg, "trainer_cfg.transform")
