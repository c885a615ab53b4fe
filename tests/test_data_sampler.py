"""Samplers: P x K semantics, rank sharding without communication, inference shards."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from gaitgen.runtime.data.sampler import CommonSampler, InferenceSampler, TripletSampler
from gaitgen.runtime.errors import ConfigError


def _dataset(sequences_per_id: dict[str, int]) -> SimpleNamespace:
    labels = [label for label, count in sequences_per_id.items() for _ in range(count)]
    indices: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        indices.setdefault(label, []).append(i)
    return SimpleNamespace(label_list=labels, label_set=sorted(indices), indices_dict=indices)


class _Sized(list):
    """A stand-in dataset with len()."""


DATA = _dataset({f"{i:03d}": 6 + i % 3 for i in range(10)})


def _batches(sampler, count):
    """The first ``count`` batches' indices (the endless samplers yield them with their
    iteration, checked here to count up from the sampler's start)."""
    batches = list(itertools.islice(iter(sampler), count))
    if isinstance(sampler, InferenceSampler):
        return batches
    start = sampler.start_iteration
    assert [b.iteration for b in batches] == list(range(start, start + count))
    return [b.items for b in batches]


def test_batch_has_p_distinct_ids_with_k_sequences_each():
    sampler = TripletSampler(DATA, [4, 3], seed=1)
    for batch in _batches(sampler, 5):
        labels = [DATA.label_list[i] for i in batch]
        assert len(batch) == 12 and len(set(labels)) == 4
        assert all(labels.count(label) == 3 for label in set(labels))
        for label in set(labels):  # without replacement when the id has enough sequences
            chosen = [i for i in batch if DATA.label_list[i] == label]
            assert len(set(chosen)) == 3


def test_k_larger_than_an_id_draws_with_replacement():
    data = _dataset({"a": 2, "b": 2})
    batch = _batches(TripletSampler(data, [2, 5]), 1)[0]
    assert len(batch) == 10 and set(batch) <= {0, 1, 2, 3}


@pytest.mark.parametrize("world_size", [2, 3, 4, 6])
def test_rank_slices_concatenate_to_the_one_process_batch(world_size):
    single = _batches(TripletSampler(DATA, [4, 3], batch_shuffle=True, seed=7), 4)
    slices = [
        _batches(TripletSampler(DATA, [4, 3], True, rank=r, world_size=world_size, seed=7), 4)
        for r in range(world_size)
    ]
    for step in range(4):
        joined = [i for r in range(world_size) for i in slices[r][step]]
        assert joined == single[step]
        assert all(len(slices[r][step]) == 12 // world_size for r in range(world_size))


def test_batches_depend_on_seed_and_iteration_only():
    a = _batches(TripletSampler(DATA, [4, 3], True, seed=5), 6)
    b = _batches(TripletSampler(DATA, [4, 3], True, seed=5), 6)
    c = _batches(TripletSampler(DATA, [4, 3], True, seed=6), 6)
    assert a == b and a != c
    assert len({tuple(x) for x in a}) > 1  # iterations differ
    resumed = _batches(TripletSampler(DATA, [4, 3], True, seed=5, start_iteration=4), 2)
    assert resumed == a[4:6]


def test_batch_shuffle_mixes_identities():
    plain = _batches(TripletSampler(DATA, [4, 3], False, seed=2), 1)[0]
    mixed = _batches(TripletSampler(DATA, [4, 3], True, seed=2), 1)[0]
    grouped = [DATA.label_list[i] for i in plain]
    assert all(grouped[k] == grouped[k - k % 3] for k in range(12))  # K in a row per id
    assert sorted(mixed) == sorted(plain) and mixed != plain


def test_p_times_k_not_divisible_by_world_size_is_a_config_error():
    with pytest.raises(ConfigError, match=r"trainer_cfg.sampler.batch_size.*world size of 5"):
        TripletSampler(DATA, [4, 3], world_size=5)


def test_more_ids_than_available_and_bad_batch_size():
    with pytest.raises(ConfigError, match="only 10"):
        TripletSampler(DATA, [11, 2])
    with pytest.raises(ConfigError, match=r"\[P, K\]"):
        TripletSampler(DATA, 8)


@pytest.mark.parametrize(
    "size, world_size, batch_size", [(10, 1, 4), (10, 3, 4), (7, 4, 1), (3, 5, 2), (100, 8, 7)]
)
def test_inference_shards_cover_the_dataset_in_order(size, world_size, batch_size):
    data = _Sized(range(size))
    samplers = [
        InferenceSampler(data, batch_size, rank=r, world_size=world_size) for r in range(world_size)
    ]
    ranges = [s.shard_indices for s in samplers]
    assert ranges[0].start == 0 and ranges[-1].stop == size
    assert all(ranges[r].stop == ranges[r + 1].start for r in range(world_size - 1))
    assert max(map(len, ranges)) - min(map(len, ranges)) <= 1
    for sampler in samplers:
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert [i for b in batches for i in b] == list(sampler.shard_indices)
        assert all(len(b) <= -(-batch_size // world_size) for b in batches)
    assert [i for s in samplers for b in s for i in b] == list(range(size))


def test_common_sampler_shards_like_triplet():
    data = _Sized(range(20))
    whole = _batches(CommonSampler(data, 6, seed=3), 2)
    parts = [_batches(CommonSampler(data, 6, rank=r, world_size=3, seed=3), 2) for r in range(3)]
    assert [i for r in range(3) for i in parts[r][0]] == whole[0]
    with pytest.raises(ConfigError, match="world size of 4"):
        CommonSampler(data, 6, world_size=4)


def test_bilateral_sampler_lists_each_batch_twice_walks_the_set_and_resumes(tiny_dataset):
    from gaitgen.runtime.components import build
    from gaitgen.runtime.data.dataset import GaitDataSet

    root, partition = tiny_dataset
    dataset = GaitDataSet(
        {"dataset_root": str(root), "dataset_partition": str(partition)}, training=True
    )
    block = {"type": "BilateralSampler", "batch_size": [2, 3], "seed": 5}
    whole = build("sampler", block, dataset)
    batches = [batch for _, batch in zip(range(8), whole)]
    for number, batch in enumerate(batches):
        first, second = batch.items[:6], batch.items[6:]
        assert batch.iteration == number and first == second and len(set(first)) == 6
    per_epoch = len(dataset) // 6
    seen = [i for batch in batches[:per_epoch] for i in batch.items[:6]]
    assert len(set(seen)) == len(seen)  # one pass over the set draws no sequence twice
    halves = [build("sampler", {**block, "rank": r, "world_size": 2}, dataset) for r in (0, 1)]
    joined = [a.items[:3] + b.items[:3] for a, b, _ in zip(*halves, range(8))]
    assert joined == [batch.items[:6] for batch in batches]  # ranks split each batch
    resumed = build("sampler", {**block, "start_iteration": 5}, dataset)
    assert next(iter(resumed)) == batches[5]
