"""Batch-level data path: transforms on whole batches, reused shared blocks, mapped files."""

from __future__ import annotations

import os
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gaitgen.runtime.data import frame_file as frame_file_module
from gaitgen.runtime.data import shared_batches
from gaitgen.runtime.data.collate import GaitCollate
from gaitgen.runtime.data.dummy import write_dummy_dataset
from gaitgen.runtime.data.frame_file import FrameFile, load_pickle_located
from gaitgen.runtime.data.loader import build_loader
from gaitgen.runtime.data.shared_batches import SharedBatchPool
from gaitgen.runtime.data.transform_base import chosen_sequences, map_sequences, uniform
from gaitgen.runtime.data.transforms import (
    RandomAffine,
    RandomErasing,
    RandomHorizontalFlip,
    RandomPerspective,
    RandomRotate,
    get_transform,
)
from gaitgen.runtime.data.warp import rotation_matrix, warp

BATCHED = {
    "RandomHorizontalFlip": RandomHorizontalFlip,
    "RandomErasing": RandomErasing,
    "RandomErasingPerFrame": lambda prob: RandomErasing(prob, per_frame=True),
    "RandomRotate": RandomRotate,
    "RandomPerspective": RandomPerspective,
    "RandomAffine": RandomAffine,
}


def _batch(lengths: list[int], size: int = 64, seed: int = 0) -> torch.Tensor:
    """Frames of several sequences one after another, each with a bright bar."""
    generator = torch.Generator().manual_seed(seed)
    frames = torch.randint(
        0, 256, (sum(lengths), size, size), dtype=torch.uint8, generator=generator
    )
    frames[:, 10:50, 20:30] = 255
    return frames


def _split(frames: torch.Tensor, lengths: list[int]) -> list[torch.Tensor]:
    return list(frames.split(lengths))


@pytest.mark.parametrize("name", sorted(BATCHED))
@pytest.mark.parametrize("lengths", [[4, 4, 4, 4], [3, 5, 2, 4]])
def test_batch_probability_zero_is_identity_and_one_changes_every_sequence(name, lengths):
    original = _batch(lengths)
    same = BATCHED[name](0.0).apply_batch(original.clone(), lengths, torch.Generator())
    assert torch.equal(same, original)
    changed = BATCHED[name](1.0).apply_batch(
        original.clone(), lengths, torch.Generator().manual_seed(3)
    )
    assert changed.shape == original.shape and changed.dtype == torch.uint8
    for before, after in zip(_split(original, lengths), _split(changed, lengths)):
        assert not torch.equal(before, after)


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_batch_same_seed_same_output(name):
    lengths = [5, 5, 5]
    frames = _batch(lengths)
    transform = BATCHED[name](0.5)
    first = transform.apply_batch(frames.clone(), lengths, torch.Generator().manual_seed(7))
    second = transform.apply_batch(frames.clone(), lengths, torch.Generator().manual_seed(7))
    assert torch.equal(first, second)


def test_rotation_gives_each_sequence_its_own_angle_as_one_warp_would():
    lengths = [6, 6, 6]
    frames = _batch(lengths)
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
    collate = GaitCollate(["001"], {"sample_type": "all_ordered"}, transform)
    torch.manual_seed(0)
    ipts, _, _, _, seq_l = collate(batch)
    assert seq_l.tolist() == [[7, 9, 12]] and ipts[0].shape == (1, 28, 64, 44)
    assert ipts[0].dtype == torch.uint8 and (ipts[0] == 0).any()  # borders and rectangles


def _fake_worker(monkeypatch, worker_id: int = 0) -> None:
    info = SimpleNamespace(id=worker_id, num_workers=1)
    monkeypatch.setattr(shared_batches, "get_worker_info", lambda: info)


def test_pool_outside_workers_gives_plain_tensors():
    tensor, tag = SharedBatchPool(1).empty((2, 3), torch.uint8)
    assert tag is None and tensor.shape == (2, 3) and not tensor.is_shared()


def test_pool_reuses_a_block_only_once_the_training_process_let_it_go(monkeypatch):
    pool = SharedBatchPool(1, slots=2)
    _fake_worker(monkeypatch)
    first, tag1 = pool.empty((4, 5), torch.uint8)
    second, tag2 = pool.empty((4, 5), torch.uint8)
    assert first.is_shared() and tag1[2] == 0 and tag2[2] == 1
    assert pool.flags[0].tolist() == [tag1[3], tag2[3]]
    third, tag3 = pool.empty((4, 5), torch.uint8)  # both blocks taken: a fresh one
    assert tag3 is None and third.data_ptr() not in (first.data_ptr(), second.data_ptr())
    # the training process receives both; it keeps the first and drops the second
    pool.received([first, second], [tag1, tag2])
    address = second.data_ptr()
    del second
    pool.release_free()
    assert pool.flags[0].tolist() == [tag1[3], 0]
    again, tag4 = pool.empty((2, 5), torch.uint8)  # smaller fits the freed block
    assert tag4[2] == 1 and again.data_ptr() == address
    first_copy = first.clone()
    pool.release_free()
    assert pool.flags[0, 0] == tag1[3] and torch.equal(first, first_copy)


def test_pool_frees_a_block_that_was_pinned_on_arrival(monkeypatch):
    pool = SharedBatchPool(1, slots=1)
    _fake_worker(monkeypatch)
    block, tag = pool.empty((3,), torch.uint8)
    pool.received([block.clone()], [tag])  # not shared: a copy made on arrival
    assert pool.flags[0, 0] == 0


def test_pool_ignores_tags_of_an_earlier_generation(monkeypatch):
    pool = SharedBatchPool(1, slots=1)
    _fake_worker(monkeypatch)
    block, tag = pool.empty((3,), torch.uint8)
    pool.new_generation()
    pool.received([block], [tag])
    assert pool.flags[0, 0] == 0 and not pool._held


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("batching") / "data"
    ids = [f"{i:03d}" for i in range(4)]
    partition = write_dummy_dataset(
        root, ids, ["nm-01", "nm-02"], ["000", "090"], frames=(10, 14), size=(16, 16)
    )
    return root, partition


def _config(root, partition, workers: int) -> dict:
    return {
        "data_cfg": {
            "dataset_root": str(root),
            "dataset_partition": str(partition),
            "num_workers": workers,
        },
        "trainer_cfg": {
            "sampler": {
                "type": "TripletSampler",
                "batch_size": [2, 2],
                "sample_type": "fixed_unordered",
                "frames_num_fixed": 4,
            },
            "transform": [{"type": "BaseSilTransform"}],
        },
    }


def test_batches_held_by_the_training_process_are_never_overwritten(dataset):
    root, partition = dataset
    loader = build_loader(_config(root, partition, workers=1), training=True, seed=1)
    iterator = iter(loader)
    kept, copies = [], []
    for step in range(30):
        ipts, labs, *_ = next(iterator)
        if step % 3 == 0:  # hold on to every third batch (more than the blocks per worker)
            kept.append(ipts[0])
            copies.append(ipts[0].clone())
        del ipts
    del iterator
    assert len(kept) > loader.collate_fn.pool.slots
    for batch, copy in zip(kept, copies):
        assert torch.equal(batch, copy)


def test_batches_let_go_are_written_into_the_same_blocks_again(dataset):
    root, partition = dataset
    loader = build_loader(_config(root, partition, workers=1), training=True, seed=1)
    iterator = iter(loader)
    addresses, tags = set(), []
    for _ in range(30):
        ipts, *_ = next(iterator)
        addresses.add(ipts[0].data_ptr())
        tags.append(ipts.slots[0])
        del ipts
    del iterator
    assert all(tag is not None for tag in tags)
    assert len(addresses) <= loader.collate_fn.pool.slots


def test_single_process_loader_has_no_pool(dataset):
    root, partition = dataset
    loader = build_loader(_config(root, partition, workers=0), training=True, seed=1)
    ipts, *_ = next(iter(loader))
    assert loader.collate_fn.pool is None and ipts.slots == [None]


def _pickled_sequence(path, frames: int = 12) -> np.ndarray:
    array = np.random.default_rng(0).integers(0, 256, (frames, 8, 8), dtype=np.uint8)
    with open(path, "wb") as file:
        pickle.dump(array, file, protocol=4)
    return array


@pytest.mark.parametrize("mapped", [True, False])
def test_frame_file_reads_the_sampled_frames_mapped_or_not(tmp_path, monkeypatch, mapped):
    if not mapped:
        monkeypatch.setattr(frame_file_module, "MAX_MAPPED_FILES", 0)
        monkeypatch.setattr(frame_file_module, "_MAPPED", frame_file_module._MappedFiles())
    path = tmp_path / "seq.pkl"
    array = _pickled_sequence(path)
    loaded, offset, size = load_pickle_located(path)
    frames = FrameFile(str(path), offset, loaded.shape, size)
    wanted = np.array([7, 2, 3, 11, 0])
    out = np.empty((5, 8, 8), np.uint8)
    frames.read_into(wanted, out)
    assert np.array_equal(out, array[wanted])
    assert (str(path) in frame_file_module._MAPPED.maps) == mapped


def test_frame_file_reloads_a_file_rewritten_with_another_size(tmp_path):
    path = tmp_path / "seq.pkl"
    _pickled_sequence(path)
    loaded, offset, size = load_pickle_located(path)
    frames = FrameFile(str(path), offset, loaded.shape, size)
    out = np.empty((2, 8, 8), np.uint8)
    frames.read_into(np.array([0, 1]), out)  # mapped now
    array = _pickled_sequence(path, frames=20)  # rewritten, bigger
    assert os.path.getsize(path) != size
    frames.read_into(np.array([0, 1]), out)
    assert np.array_equal(out, array[[0, 1]])
