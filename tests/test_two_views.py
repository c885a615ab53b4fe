"""Two views of each sequence (BilateralSampler, GaitSSB's pre-training) from the loader's
collate to the model's ``((ipts_q, ipts_k), labs, typs, viws, (seqL_q, seqL_k))``."""

from __future__ import annotations

import pickle

import numpy as np
import torch
from gaitgen.runtime.data.bilateral_sampler import BilateralSampler
from gaitgen.runtime.data.collate import GaitCollate
from gaitgen.runtime.data.seeds import IterationBatch
from gaitgen.runtime.data.transforms import get_transform
from gaitgen.runtime.engine.build import move_inputs

CUT = get_transform({"type": "BaseSilCuttingTransform"})


def _items(count: int, length: int = 30) -> list:
    """Sequences whose frame i of sequence k is filled with 100 * k + i (identifiable)."""
    items = []
    for k in range(count):
        frames = (100 * k + np.arange(length)) % 256
        data = np.broadcast_to(frames[:, None, None], (length, 64, 64)).astype(np.uint8)
        items.append(([data], [f"{k:03d}", "nm-01", "090", [f"{k}.pkl"]]))
    return items


def _ids(view: torch.Tensor) -> list[list[int]]:
    return (view[..., 0, 0] * 255).round().long().tolist()


def test_bilateral_batches_reach_the_model_as_two_views():
    sampler = BilateralSampler(list(range(6)), batch_size=[3, 1], seed=0)
    batch = next(iter(sampler))
    assert batch.views == 2 and batch.items[:3] == batch.items[3:]
    items = _items(6)
    collate = GaitCollate(
        [f"{k:03d}" for k in range(6)],
        {"sample_type": "fixed_unordered", "frames_num_fixed": 5},
        CUT,
        frame_seed=1,
    )
    loaded = collate(IterationBatch(batch.iteration, [items[i] for i in batch.items], 2))
    assert loaded[0].views == 2
    loaded = pickle.loads(pickle.dumps(loaded))  # as it crosses from a worker
    (view_q, view_k), labs, typs, viws, (seq_q, seq_k) = move_inputs(loaded, torch.device("cpu"))
    assert view_q[0].shape == view_k[0].shape == (3, 5, 64, 44)
    assert labs.tolist() == [int(i) for i in batch.items[:3]] and len(typs) == len(viws) == 3
    assert seq_q is None and seq_k is None
    q, k = _ids(view_q[0]), _ids(view_k[0])
    assert [row[0] // 100 for row in q] == [row[0] // 100 for row in k]  # same sequences
    assert q != k  # each copy drew its own frames: two views
    again = move_inputs([(view_q, view_k), labs, typs, viws, (seq_q, seq_k)], torch.device("cpu"))
    assert again[0][0][0] is view_q[0]  # a split batch is moved as it is


def test_joined_two_view_batches_split_by_their_lengths():
    items = _items(2, length=7)
    collate = GaitCollate(["000", "001"], {"sample_type": "all_ordered"}, CUT)
    loaded = collate(IterationBatch(0, items + items, 2))
    (view_q, view_k), labs, _, _, (seq_q, seq_k) = move_inputs(loaded, torch.device("cpu"))
    assert seq_q.tolist() == seq_k.tolist() == [[7, 7]] and labs.tolist() == [0, 1]
    assert _ids(view_q[0]) == _ids(view_k[0]) == [list(range(7)) + list(range(100, 107))]


def test_one_view_batches_are_unchanged():
    collate = GaitCollate(["000"], {"sample_type": "all_ordered"}, CUT)
    ipts, labs, _, _, seq_l = move_inputs(collate(_items(1)), torch.device("cpu"))
    assert isinstance(ipts, list) and ipts[0].shape == (1, 30, 64, 44) and labs.tolist() == [0]
