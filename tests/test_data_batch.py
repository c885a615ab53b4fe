"""uint8 batches finished on the device, frame-by-frame pickle reads (mapped or not), reused
CPU buffers and reused shared blocks, the fallback for torch's private shared-memory calls, and
the bounds of every cache."""

from __future__ import annotations

import copy
import pickle
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from gaitgen.runtime.data import build_loader, shared_batches
from gaitgen.runtime.data import frame_file as frame_file_module
from gaitgen.runtime.data.batch import (
    CPU_FINISH_BUFFERS,
    PendingInputs,
    ReusedBuffers,
    finish_inputs,
)
from gaitgen.runtime.data.collate import GaitCollate
from gaitgen.runtime.data.dataset import GaitDataSet
from gaitgen.runtime.data.dummy import write_dummy_dataset
from gaitgen.runtime.data.frame_file import FrameFile, load_pickle_located, locate_array_data
from gaitgen.runtime.data.seeds import IterationBatch
from gaitgen.runtime.data.shared_batches import SharedBatchPool
from gaitgen.runtime.data.shared_memory import new_shared_block, storage_use_count
from gaitgen.runtime.data.transforms import get_transform
from gaitgen.runtime.data.warp import BASE_GRID_SIZES, base_grid
from gaitgen.runtime.engine.build import move_inputs

DA = {
    "type": "Compose",
    "trf_cfg": [
        {"type": "BaseSilCuttingTransform"},
        {"type": "RandomRotate", "prob": 0.5},
        {"type": "RandomErasing", "prob": 0.5},
    ],
}
RGB_ERASE = {
    "type": "Compose",
    "trf_cfg": [{"type": "BaseRgbTransform"}, {"type": "RandomErasing", "prob": 1.0}],
}


def _batch(count: int, shape: tuple[int, ...], seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [
        (
            [rng.integers(0, 256, (int(rng.integers(6, 12)), *shape), dtype=np.uint8)],
            ["001", "nm-01", "000", [f"{i}.pkl"]],
        )
        for i in range(count)
    ]


def _both(sampler_cfg: dict, transform: dict, batch: list) -> tuple[list, list]:
    """The same batch through the float path and through the uint8 path (finished on CPU)."""
    results = []
    for float_inputs in (True, False):
        collate = GaitCollate(
            ["001"], sampler_cfg, get_transform(transform), float_inputs=float_inputs, frame_seed=7
        )
        results.append(collate(IterationBatch(0, batch)))
    return results[0], results[1]


@pytest.mark.parametrize(
    "sampler_cfg",
    [
        {"sample_type": "fixed_unordered", "frames_num_fixed": 5},
        {"sample_type": "unfixed_ordered", "frames_num_min": 2, "frames_num_max": 6},
        {"sample_type": "all_ordered"},
    ],
)
def test_uint8_path_is_bit_identical_to_the_float_path(sampler_cfg):
    floats, raw = _both(sampler_cfg, DA, _batch(6, (64, 64)))
    assert isinstance(raw[0], PendingInputs) and raw[0][0].dtype == torch.uint8
    assert floats[0][0].dtype == torch.float32
    finished = finish_inputs(raw[0], torch.device("cpu"))
    assert finished[0].dtype == torch.float32
    assert torch.equal(finished[0].view(torch.int32), floats[0][0].view(torch.int32))  # bits
    assert torch.equal(raw[1], floats[1]) and (raw[4] is None) == (floats[4] is None)


def test_a_modality_that_needed_floats_is_finished_in_the_worker():
    # RGB: the mean is subtracted before erasing writes zeros, so the frames are float already
    floats, raw = _both(
        {"sample_type": "fixed_unordered", "frames_num_fixed": 3}, RGB_ERASE, _batch(3, (3, 8, 8))
    )
    assert raw[0][0].dtype == torch.float32 and raw[0].value_maps == [()]
    assert torch.equal(finish_inputs(raw[0])[0], floats[0][0])


def test_pending_inputs_survive_pickling_copy_and_pinning(monkeypatch):
    value_map = get_transform({"type": "BaseSilTransform"}).value_map
    tag = (1, 0, 2, 5)
    ipts = PendingInputs([torch.full((2, 3), 255, dtype=torch.uint8)], [(value_map,)], [tag])
    # no CUDA here: a stand-in pin that copies, as the real one does
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self, *args: self.clone())
    for clone in (pickle.loads(pickle.dumps(ipts)), copy.copy(ipts), ipts.pin_memory()):
        assert isinstance(clone, PendingInputs) and clone.value_maps == ipts.value_maps
        assert clone.blocks == [tag] and len(clone) == 1 and clone[0].dtype == torch.uint8
        assert torch.equal(finish_inputs(clone)[0], torch.ones(2, 3))
    with pytest.raises(ValueError, match="1 tensors, 2 value-map tuples"):
        PendingInputs(ipts.tensors, [(value_map,), ()])


def test_move_inputs_finishes_uint8_and_moves_floats():
    floats, raw = _both(
        {"sample_type": "fixed_unordered", "frames_num_fixed": 4}, DA, _batch(4, (64, 64))
    )
    moved = move_inputs(raw, torch.device("cpu"))
    assert torch.equal(moved[0][0], floats[0][0]) and torch.equal(moved[1], floats[1])
    plain = [[torch.randn(2, 4, 8, 8)], torch.tensor([0, 1]), ["a", "b"], ["0", "1"], None]
    same = move_inputs(plain, torch.device("cpu"))
    assert same[0][0] is plain[0][0] or torch.equal(same[0][0], plain[0][0])


def test_cpu_buffers_are_never_overwritten_while_held():
    maps = [(get_transform({"type": "BaseSilTransform"}).value_map,)]
    first = finish_inputs(PendingInputs([torch.full((4, 5), 51, dtype=torch.uint8)], maps))[0]
    held = first[1:]  # a view keeps the memory in use too
    del first
    outputs = [
        finish_inputs(PendingInputs([torch.full((4, 5), v, dtype=torch.uint8)], maps))[0]
        for v in (102, 153, 204, 255)
    ]
    assert torch.equal(held, torch.full((3, 5), 0.2))
    assert [float(o[0, 0]) for o in outputs] == pytest.approx([0.4, 0.6, 0.8, 1.0])
    reused = finish_inputs(PendingInputs([torch.zeros(4, 5, dtype=torch.uint8)], maps))[0]
    assert float(reused.sum()) == 0.0 and torch.equal(held, torch.full((3, 5), 0.2))


def test_pickle_layout_is_found_and_frames_read_match(tmp_path):
    array = np.random.default_rng(1).integers(0, 256, (9, 6, 5), dtype=np.uint8)
    path = tmp_path / "seq.pkl"
    path.write_bytes(pickle.dumps(array, protocol=4))
    loaded, offset, size = load_pickle_located(path)
    assert np.array_equal(loaded, array) and offset > 0 and size == path.stat().st_size
    frames = FrameFile(str(path), offset, array.shape, size)
    assert len(frames) == 9 and frames.shape == (9, 6, 5) and frames.dtype == np.uint8
    for index in ([3, 4, 5, 0, 8, 8], [8, 1, 6, 3, 0, 5, 5], np.array([7, 1]), slice(2, 6), -1):
        assert np.array_equal(frames[index], array[index])
    assert np.array_equal(np.asarray(frames), array)
    # rewritten with another length: read in full again, never at the stale offset
    other = array[:4][::-1].copy()
    path.write_bytes(pickle.dumps(other, protocol=4))
    assert np.array_equal(frames[[0, 1]], other[[0, 1]])
    # arrays whose bytes are not one raw block are not read frame by frame
    assert locate_array_data(pickle.dumps(array.astype(np.float32)), array.astype(np.float32)) == -1
    assert locate_array_data(pickle.dumps(array, protocol=2), array) == -1


def test_dataset_reads_frames_of_known_pickles_with_identical_values(tmp_path):
    partition = write_dummy_dataset(
        tmp_path, ["001", "002"], views=("000", "090"), train_ids=["001", "002"]
    )
    data_cfg = {"dataset_root": str(tmp_path), "dataset_partition": str(partition)}
    dataset = GaitDataSet(data_cfg, training=True)
    first, _ = dataset[1]
    again, _ = dataset[1]
    assert isinstance(first[0], np.ndarray) and isinstance(again[0], FrameFile)
    assert np.array_equal(again[0][[0, 2, 1]], first[0][[0, 2, 1]])
    assert int(dataset._layouts[1, 0, 0]) > 0  # in shared memory, seen by every worker
    assert dataset._layouts.is_shared()
    state = dataset.__getstate__()
    assert "_layout_rows" not in state and state["_layouts"] is dataset._layouts


def one_worker_config(tmp_path, transform: list) -> dict:
    """A loader config over a 3-id dummy dataset: one worker, 2 x 2 batches of 4 frames."""
    ids = ["001", "002", "003"]
    partition = write_dummy_dataset(
        tmp_path, ids, types=("nm-01", "nm-02"), frames=(8, 12), size=(16, 16), train_ids=ids
    )
    return {
        "data_cfg": {
            "dataset_root": str(tmp_path),
            "dataset_partition": str(partition),
            "num_workers": 1,
        },
        "trainer_cfg": {
            "sampler": {
                "type": "TripletSampler",
                "batch_size": [2, 2],
                "sample_type": "fixed_unordered",
                "frames_num_fixed": 4,
            },
            "transform": transform,
        },
    }


def test_loader_with_a_worker_delivers_uint8_that_finishes_to_the_float_batch(tmp_path):
    cfgs = one_worker_config(tmp_path, [{"type": "BaseSilCuttingTransform", "cutting": 2}])
    batches = []
    for float_inputs in (False, True):
        loader = build_loader(cfgs, training=True, seed=5, float_inputs=float_inputs)
        iterator = iter(loader)
        batches.append([next(iterator) for _ in range(3)])  # later batches read frames only
        del iterator
    for raw, floats in zip(*batches):
        assert raw[0][0].dtype == torch.uint8 and isinstance(raw[0], PendingInputs)
        finished = loader.to_device(raw, "cpu")
        assert torch.equal(finished[0][0], floats[0][0]) and torch.equal(finished[1], floats[1])


@pytest.mark.parametrize("mapped", [True, False])
def test_frame_file_reads_the_sampled_frames_mapped_or_not(tmp_path, monkeypatch, mapped):
    if not mapped:
        monkeypatch.setattr(frame_file_module, "MAX_MAPPED_FILES", 0)
        monkeypatch.setattr(frame_file_module, "_MAPPED", frame_file_module._MappedFiles())
    array = np.random.default_rng(0).integers(0, 256, (12, 8, 8), dtype=np.uint8)
    path = tmp_path / "seq.pkl"
    path.write_bytes(pickle.dumps(array, protocol=4))
    loaded, offset, size = load_pickle_located(path)
    frames = FrameFile(str(path), offset, loaded.shape, size)
    wanted = np.array([7, 2, 3, 11, 0])
    out = np.empty((5, 8, 8), np.uint8)
    frames.read_into(wanted, out)
    assert np.array_equal(out, array[wanted])
    assert (str(path) in frame_file_module._MAPPED.maps) == mapped


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


# private torch calls: a torch without them (or with changed ones) gives the same batches -----


def _remove_private_torch_calls(monkeypatch, how: str) -> None:
    """Make ``UntypedStorage._new_shared`` and ``torch._C._storage_Use_Count`` missing or
    failing, as a future torch might (forked loader workers inherit this)."""

    def fails(*args, **kwargs):
        raise RuntimeError("changed in this torch")

    if how == "missing":
        monkeypatch.setattr(torch.UntypedStorage, "_new_shared", None)
        monkeypatch.delattr(torch._C, "_storage_Use_Count")
    else:
        monkeypatch.setattr(torch.UntypedStorage, "_new_shared", fails)
        monkeypatch.setattr(torch._C, "_storage_Use_Count", fails)


@pytest.mark.parametrize("how", ["missing", "failing"])
def test_shared_memory_falls_back_to_share_memory(monkeypatch, how):
    _remove_private_torch_calls(monkeypatch, how)
    block = new_shared_block(48)
    assert block.is_shared() and block.nbytes() == 48
    assert storage_use_count(block) is None  # cannot tell: never reused
    _fake_worker(monkeypatch)
    pool = SharedBatchPool(1, slots=1)
    tensor, tag = pool.empty((4, 6), torch.uint8)
    assert tensor.is_shared() and tensor.shape == (4, 6) and tag is not None
    pool.received([tensor], [tag])
    del tensor
    pool.release_free()
    assert pool.flags[0, 0] == tag[3]  # the block is kept: nothing says it is free


def _loader_batches(cfgs: dict, count: int) -> tuple[list, Any]:
    loader = build_loader(cfgs, training=True, seed=4)
    iterator = iter(loader)
    batches = [loader.to_device(next(iterator), "cpu") for _ in range(count)]
    del iterator
    return batches, loader


def test_loader_batches_are_identical_without_the_private_torch_calls(tmp_path, monkeypatch):
    cfgs = one_worker_config(tmp_path, [DA])
    count = 9  # more batches than the worker's blocks: reuse (or not) matters
    private, _ = _loader_batches(cfgs, count)
    _remove_private_torch_calls(monkeypatch, "missing")
    public, loader = _loader_batches(cfgs, count)
    for a, b in zip(private, public):
        assert torch.equal(a[0][0], b[0][0]) and torch.equal(a[1], b[1]) and a[2:4] == b[2:4]
    assert bool((loader.pool.flags != 0).all())  # no block was handed back: fresh ones used


# caches are named and bounded -------------------------------------------------------------


def test_cpu_finish_buffers_are_bounded_and_reused_only_when_free():
    buffers = ReusedBuffers(max_buffers=2)
    held = [buffers.get(torch.Size((2, 3))) for _ in range(3)]  # all in use: three buffers
    assert len({t.data_ptr() for t in held}) == 3 and len(buffers.buffers) == 2
    kept = {t.data_ptr() for t in held[1:]}  # the first was dropped: only two are kept
    del held
    assert buffers.get(torch.Size((2, 3))).data_ptr() in kept  # free again: reused
    for rows in range(1, 10):  # ever new shapes (unfixed sampling) do not pile up
        buffers.get(torch.Size((rows, 3)))
    assert len(buffers.buffers) == 2
    maps = (get_transform({"type": "BaseSilTransform"}).value_map,)
    for frames in range(3, 3 + CPU_FINISH_BUFFERS.max_buffers + 4):  # the process's own
        ipts = PendingInputs([torch.full((1, frames, 4, 4), 51, dtype=torch.uint8)], [maps])
        assert torch.equal(finish_inputs(ipts)[0], torch.full((1, frames, 4, 4), 0.2))
    assert len(CPU_FINISH_BUFFERS.buffers) <= CPU_FINISH_BUFFERS.max_buffers


def test_base_grids_are_kept_for_a_bounded_number_of_sizes():
    base_grid.cache_clear()
    for size in range(2, 2 + BASE_GRID_SIZES + 5):
        base_grid(size, size + 1)
    assert base_grid.cache_info().currsize == BASE_GRID_SIZES
    grid = base_grid(3, 2)  # [h * w, 3] of (x, y, 1), row by row
    assert grid.tolist() == [[0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1], [0, 2, 1], [1, 2, 1]]


def test_mapped_files_past_the_bound_are_read_without_a_map(tmp_path, monkeypatch):
    monkeypatch.setattr(frame_file_module, "MAX_MAPPED_FILES", 2)
    monkeypatch.setattr(frame_file_module, "_MAPPED", frame_file_module._MappedFiles())
    rng = np.random.default_rng(3)
    for k in range(4):
        array = rng.integers(0, 256, (6, 8, 8), dtype=np.uint8)  # > 255 bytes: BINBYTES
        path = tmp_path / f"{k}.pkl"
        path.write_bytes(pickle.dumps(array, protocol=4))
        _, offset, size = load_pickle_located(path)
        assert np.array_equal(
            FrameFile(str(path), offset, array.shape, size)[[5, 0, 2]], array[[5, 0, 2]]
        )
    assert sorted(frame_file_module._MAPPED.maps) == [
        str(tmp_path / "0.pkl"),
        str(tmp_path / "1.pkl"),
    ]
