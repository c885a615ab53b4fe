"""The evaluator's one tiling: worker threads that leave torch's thread setting alone, and
``search``'s top-k over the same blocks."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from gaitgen.runtime.evaluation import evaluate
from gaitgen.runtime.evaluation.search import top_matches
from gaitgen.runtime.evaluation.tiling import BlockSizes, WorkerPool


def test_evaluate_leaves_torch_thread_settings_as_found(monkeypatch):
    def refuse(_count):
        raise AssertionError("the evaluator must not set torch's thread count")

    before = torch.get_num_threads()
    monkeypatch.setattr(torch, "set_num_threads", refuse)
    rng = np.random.default_rng(0)
    label = np.repeat([f"{i:03d}" for i in range(6)], 8)
    type_ = np.tile(["nm-01", "nm-02", "nm-05", "nm-06"], 12)
    view = np.tile(["000", "000", "000", "000", "090", "090", "090", "090"], 6)
    feature = rng.normal(size=(48, 8, 2)).astype(np.float32)
    evaluate(feature, label, type_, view, protocol="CASIA-B", device="cpu")
    assert torch.get_num_threads() == before
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert seen == [before]  # a thread started afterwards gets torch's setting, not the pool's


def test_worker_threads_are_single_threaded_and_the_caller_is_not():
    pool = WorkerPool(torch.device("cpu"))
    if pool.workers < 2:
        pytest.skip("one core, or a torch without OpenMP threads: the pool runs in order")
    before = torch.get_num_threads()
    inside = []
    with pool:
        pool.run(lambda _: inside.append(torch.get_num_threads()), range(pool.workers * 2))
    assert inside == [1] * (pool.workers * 2)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_top_matches_across_block_edges_equal_a_full_sort(metric):
    generator = torch.Generator().manual_seed(1)
    gallery = torch.randn(90, 6, 3, generator=generator)
    probe = torch.randn(23, 6, 3, generator=generator)
    sizes = BlockSizes(superblock=10, gallery_block=25, probe_tile=4, gallery_tile=7)
    values, index = top_matches(gallery, probe, 6, metric, "cpu", sizes)
    if metric == "cos":
        g = torch.nn.functional.normalize(gallery, dim=1).flatten(1)
        p = torch.nn.functional.normalize(probe, dim=1).flatten(1)
        full = 1 - p @ g.t() / 3
    else:
        full = torch.cdist(probe.permute(2, 0, 1), gallery.permute(2, 0, 1)).mean(0)  # [P, G]
    expected_values, expected_index = torch.sort(full, dim=1)
    assert torch.equal(index, expected_index[:, :6])
    assert torch.allclose(values, expected_values[:, :6], atol=1e-5)
    whole = top_matches(gallery, probe, 6, metric, "cpu", BlockSizes())
    assert torch.equal(whole[1], index)
