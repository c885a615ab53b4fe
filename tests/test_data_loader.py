"""GaitDataSet and build_loader: layout errors, data_in_use, cache, workers, the engine's view."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest
import torch
from gaitgen.runtime.data import GaitDataSet, build_loader
from gaitgen.runtime.data.dummy import write_dummy_dataset
from gaitgen.runtime.errors import ConfigError, DataError, RegistryError

IDS = ["001", "002", "003", "004", "005", "006"]


@pytest.fixture()
def dataset(tmp_path):
    root = tmp_path / "data"
    partition = write_dummy_dataset(
        root, IDS, types=("nm-01", "bg-01"), views=("000", "090"), size=(16, 16), train_ids=IDS[:4]
    )
    return root, partition


def _cfgs(root, partition, workers=0, **data):
    return {
        "data_cfg": {
            "dataset_name": "Dummy",
            "dataset_root": str(root),
            "dataset_partition": str(partition),
            "num_workers": workers,
            **data,
        },
        "trainer_cfg": {
            "sampler": {
                "type": "TripletSampler",
                "batch_size": [2, 2],
                "batch_shuffle": True,
                "sample_type": "fixed_unordered",
                "frames_num_fixed": 5,
                "frames_num_max": 40,  # OpenGait configs carry keys other sample types use
            },
            "transform": [{"type": "BaseSilCuttingTransform", "cutting": 2}],
        },
        "evaluator_cfg": {
            "sampler": {
                "type": "InferenceSampler",
                "batch_size": 3,
                "batch_shuffle": False,
                "sample_type": "all_ordered",
            },
            "transform": [{"type": "BaseSilTransform"}],
        },
    }


def test_dataset_attributes_match_opengait(dataset):
    root, partition = dataset
    train = GaitDataSet(_cfgs(root, partition)["data_cfg"], training=True)
    assert len(train) == 16 and train.label_set == IDS[:4]
    assert train.types_list[:4] == ["bg-01", "bg-01", "nm-01", "nm-01"]
    assert train.views_list[:2] == ["000", "090"]
    assert train.indices_dict["002"] == [4, 5, 6, 7]
    data_list, info = train[5]
    assert info[:3] == ["002", "bg-01", "090"] and info[3][0].endswith("090.pkl")
    assert data_list[0].dtype == np.uint8 and data_list[0].shape[1:] == (16, 16)
    test = GaitDataSet(_cfgs(root, partition)["data_cfg"], training=False)
    assert test.label_set == IDS[4:]


def test_training_loader_yields_model_input(dataset):
    root, partition = dataset
    loader = build_loader(_cfgs(root, partition), training=True, seed=3)
    torch.manual_seed(0)  # frames are drawn from the global RNG in the training process
    batch = next(iter(loader))
    assert isinstance(loader.dataset, GaitDataSet)
    assert batch[0][0].shape == (4, 5, 16, 12) and batch[0][0].dtype == torch.uint8
    ipts, labs, typs, viws, seq_l = loader.to_device(batch, "cpu")
    assert ipts[0].shape == (4, 5, 16, 12) and ipts[0].dtype == torch.float32
    assert torch.equal(ipts[0], batch[0][0].float() / 255)
    assert labs.shape == (4,) and seq_l is None and len(typs) == len(viws) == 4
    floats = build_loader(_cfgs(root, partition), training=True, seed=3, float_inputs=True)
    torch.manual_seed(0)
    assert torch.equal(next(iter(floats))[0][0], ipts[0])  # same batch, finished in the loader


def test_training_loader_with_a_worker_and_sharding(dataset):
    root, partition = dataset
    cfgs = _cfgs(root, partition, workers=1)
    whole = next(iter(build_loader(cfgs, True, seed=1)))
    halves = [next(iter(build_loader(cfgs, True, rank=r, world_size=2, seed=1))) for r in range(2)]
    labels = [whole[1].tolist(), halves[0][1].tolist() + halves[1][1].tolist()]
    assert labels[0] == labels[1]
    assert whole[2] == halves[0][2] + halves[1][2] and whole[3] == halves[0][3] + halves[1][3]


@pytest.mark.parametrize("workers", [0, 1])
def test_a_loader_started_at_iteration_k_gives_the_kth_batch(dataset, workers):
    root, partition = dataset
    cfgs = _cfgs(root, partition, workers=workers)
    cfgs["trainer_cfg"]["transform"] = [
        {"type": "Compose", "trf_cfg": [{"type": "BaseSilTransform"}, {"type": "RandomRotate"}]}
    ]
    iterator = iter(build_loader(cfgs, True, seed=2))
    uninterrupted = [next(iterator) for _ in range(4)]
    del iterator
    resumed = next(iter(build_loader(cfgs, True, seed=2, start_iteration=3)))
    assert torch.equal(resumed[1], uninterrupted[3][1]) and resumed[2:4] == uninterrupted[3][2:4]
    assert torch.equal(resumed[0][0], uninterrupted[3][0][0])  # same frames, same rotations
    assert not torch.equal(uninterrupted[2][0][0], uninterrupted[3][0][0])


def test_test_loader_shards_in_dataset_order(dataset):
    root, partition = dataset
    cfgs = _cfgs(root, partition)
    seen = []
    for rank in range(3):
        loader = build_loader(cfgs, False, rank=rank, world_size=3)
        shard = loader.batch_sampler.shard_indices
        for ipts, labs, typs, viws, seq_l in loader:
            assert ipts[0].shape[:2] == (1, int(seq_l.sum())) and ipts[0].shape[2:] == (16, 16)
            seen += [
                (loader.dataset.label_set[i], t, v) for i, t, v in zip(labs.tolist(), typs, viws)
            ]
        assert len(shard) in (2, 3)
    dataset_order = list(
        zip(loader.dataset.label_list, loader.dataset.types_list, loader.dataset.views_list)
    )
    assert seen == dataset_order


def test_cache_shares_one_tensor_and_gives_the_same_data(dataset):
    root, partition = dataset
    cached = GaitDataSet(_cfgs(root, partition, cache=True)["data_cfg"], True)
    plain = GaitDataSet(_cfgs(root, partition)["data_cfg"], True)
    store = cached._cache.stores[0]
    assert isinstance(store, torch.Tensor) and store.is_shared()
    for i in (0, 7, 15):
        assert np.array_equal(cached[i][0][0], plain[i][0][0])
        assert np.shares_memory(cached[i][0][0], store.numpy())  # a view, no copy
    loader = build_loader(_cfgs(root, partition, workers=1, cache=True), True)
    assert next(iter(loader))[0][0].shape == (4, 5, 16, 12)


def test_data_in_use_selects_modalities(tmp_path):
    root = tmp_path / "multi"
    partition = write_dummy_dataset(
        root, ["a", "b"], modalities=3, train_ids=["a", "b"], size=(8, 8)
    )
    cfg = _cfgs(root, partition)["data_cfg"]
    by_mask = GaitDataSet({**cfg, "data_in_use": [True, False, True]}, True)
    assert [p.rsplit("/", 1)[1] for p in by_mask.seqs_info[0][3]] == ["0-000.pkl", "2-000.pkl"]
    by_index = GaitDataSet({**cfg, "data_in_use": [2, 0]}, True)
    assert [p.rsplit("/", 1)[1] for p in by_index.seqs_info[0][3]] == ["2-000.pkl", "0-000.pkl"]
    with pytest.raises(DataError, match="index 3 is out of range"):
        GaitDataSet({**cfg, "data_in_use": [3]}, True)
    cfgs = _cfgs(root, partition, data_in_use=[True, True, False])
    cfgs["trainer_cfg"]["sampler"]["batch_size"] = [2, 1]
    with pytest.raises(ConfigError, match="1 transforms for 2 modalities"):
        build_loader(cfgs, True)
    cfgs["trainer_cfg"]["transform"] = {"type": "BaseSilTransform"}  # one for all
    assert len(next(iter(build_loader(cfgs, True)))[0]) == 2


def test_missing_root_and_partition(dataset, tmp_path):
    root, partition = dataset
    with pytest.raises(DataError, match="data_cfg.dataset_root"):
        GaitDataSet(_cfgs(tmp_path / "nope", partition)["data_cfg"], True)
    with pytest.raises(DataError, match="data_cfg.dataset_root: not set"):
        GaitDataSet(_cfgs("", partition)["data_cfg"], True)
    with pytest.raises(DataError, match="data_cfg.dataset_partition"):
        GaitDataSet(_cfgs(root, tmp_path / "nope.json")["data_cfg"], True)
    bad = tmp_path / "bad.json"
    bad.write_text('{"TRAIN_SET": [\n"001",\n}')
    with pytest.raises(DataError, match=r"bad.json:3: invalid JSON"):
        GaitDataSet(_cfgs(root, bad)["data_cfg"], True)
    bad.write_text('{"TRAIN_SET": []}')
    with pytest.raises(DataError, match="TEST_SET"):
        GaitDataSet(_cfgs(root, bad)["data_cfg"], True)


def test_partition_ids_missing_on_disk_are_named(dataset):
    root, partition = dataset
    partition.write_text(json.dumps({"TRAIN_SET": ["001", "777", "888"], "TEST_SET": []}))
    with pytest.raises(DataError, match=r"2 id\(s\) of TRAIN_SET.*777, 888"):
        GaitDataSet(_cfgs(root, partition)["data_cfg"], True)


def test_empty_sequence_folder_and_foreign_file(dataset):
    root, partition = dataset
    (root / "001" / "cl-01" / "018").mkdir(parents=True)
    with pytest.raises(DataError, match=r"001/cl-01/018: sequence folder with no files"):
        GaitDataSet(_cfgs(root, partition)["data_cfg"], True)
    shutil.rmtree(root / "001" / "cl-01")
    (root / "001" / "nm-01" / "000" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="notes.txt: unsupported file"):
        GaitDataSet(_cfgs(root, partition)["data_cfg"], True)


def test_bad_file_in_a_worker_is_one_clear_error(dataset):
    root, partition = dataset
    for path in root.glob("00[1-4]/*/*/*.pkl"):
        with open(path, "wb") as file:
            pickle.dump({"not": "an array"}, file)
    loader = build_loader(_cfgs(root, partition, workers=1), True)
    with pytest.raises(DataError) as info:
        next(iter(loader))
    message = str(info.value)
    assert "holds a dict, not an array" in message and "Traceback" not in message


def test_sampler_config_errors(dataset):
    root, partition = dataset
    cfgs = _cfgs(root, partition)
    cfgs["trainer_cfg"]["sampler"]["type"] = "TripletSamplr"
    with pytest.raises(RegistryError, match="TripletSampler"):
        build_loader(cfgs, True)
    cfgs["trainer_cfg"]["sampler"]["type"] = "TripletSampler"
    with pytest.raises(ConfigError, match=r"trainer_cfg.sampler.batch_size.*world size of 3"):
        build_loader(cfgs, True, world_size=3)
    cfgs["trainer_cfg"]["sampler"]["batch_sise"] = 3
    with pytest.raises(ConfigError, match="batch_sise.*'batch_size'"):
        build_loader(cfgs, True)


def test_batches_held_by_the_training_process_are_never_overwritten(dataset):
    root, partition = dataset
    loader = build_loader(_cfgs(root, partition, workers=1), training=True, seed=1)
    iterator = iter(loader)
    kept, copies = [], []
    for step in range(30):
        ipts, labs, *_ = next(iterator)
        if step % 3 == 0:  # hold on to every third batch (more than the blocks per worker)
            kept.append(ipts[0])
            copies.append(ipts[0].clone())
        del ipts
    del iterator
    assert len(kept) > loader.pool.slots
    for batch, copy in zip(kept, copies):
        assert torch.equal(batch, copy)


def test_batches_let_go_are_written_into_the_same_blocks_again(dataset):
    root, partition = dataset
    loader = build_loader(_cfgs(root, partition, workers=1), training=True, seed=1)
    iterator = iter(loader)
    addresses, tags = set(), []
    for _ in range(30):
        ipts, *_ = next(iterator)
        addresses.add(ipts[0].data_ptr())
        tags.append(ipts.blocks[0])
        del ipts
    del iterator
    assert all(tag is not None for tag in tags)
    assert len(addresses) <= loader.pool.slots


def test_single_process_loader_has_no_pool(dataset):
    root, partition = dataset
    loader = build_loader(_cfgs(root, partition), training=True, seed=1)
    ipts, *_ = next(iter(loader))
    assert loader.pool is None and loader.collate_fn.pool is None and ipts.blocks == [None]
