"""``GaitDataSet``: the sequences of one partition, with OpenGait's ``DataSet`` attributes.

``dataset[i]`` returns ``(data_list, seq_info)``: one numpy array per modality (files of the
sequence folder sorted by name, filtered by ``data_cfg.data_in_use``) and
``[label, type, view, paths]``. Files are read with :func:`.io.load_sequence_file` (no code
in a pickle ever runs) unless ``data_cfg.cache`` holds them in shared memory. A pickle loaded
once is returned as a :class:`.frame_file.FrameFile` afterwards, which reads only the frames
the batch samples; the layouts found are kept in a table in shared memory, so every
DataLoader worker benefits from what any of them found.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config.schema import datasets_name, named_data_blocks
from ..errors import DataError
from .cache import SequenceCache
from .frame_file import FRAME_READS, FrameFile, load_pickle_located
from .io import check_same_length, load_sequence_file
from .layout import (
    format_ids,
    ids_on_disk,
    read_partition,
    require_root,
    scan_sequences,
    select_modalities,
)
from .seeds import IterationBatch

Item = tuple[list[np.ndarray], list]  # (data_list, seq_info) of one sequence
_MAX_DIMS = 5  # frames [T, ...] of up to 5 dimensions can be read frame by frame


def _data_in_use(data_cfg: dict[str, Any], key: str = "data_cfg") -> list | None:
    value = data_cfg.get("data_in_use")
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, int) for v in value):
        raise DataError(
            f"{key}.data_in_use: expected a list of true/false (one per file) or of file "
            f"indices, got {value!r}"
        )
    return value


def _check_modality_files(entries: list, data_in_use: list | None, key: str = "data_cfg") -> None:
    """Every sequence folder holds as many files (modalities) as most do, and ``data_in_use``
    (a true/false list) has one entry per file: else the modalities would be mixed up.

    Raises:
        DataError: naming the odd folder, its files and those of a typical one.
    """
    counts = [len(e.files) for e in entries]
    expected = max(set(counts), key=counts.count)
    typical = next(e for e in entries if len(e.files) == expected)
    names = ", ".join(os.path.basename(f) for f in typical.files)
    odd = next((e for e in entries if len(e.files) != expected), None)
    if odd is not None:
        held = ", ".join(os.path.basename(f) for f in odd.files)
        missing = "a modality file is missing" if len(odd.files) < expected else "an extra file"
        raise DataError(
            f"{odd.folder}: holds {len(odd.files)} file(s) ({held}) where most sequence folders "
            f"hold {expected} ({typical.folder}: {names}): {missing}; every sequence needs one "
            "file per modality ('gaitgen check-data' lists the odd folders)"
        )
    if data_in_use and all(isinstance(v, bool) for v in data_in_use):
        if len(data_in_use) != expected:
            raise DataError(
                f"{key}.data_in_use: {len(data_in_use)} true/false entries for the {expected} "
                f"file(s) of each sequence folder ({typical.folder}: {names}); give one per file"
            )


def _block_sequences(data_cfg: dict[str, Any], training: bool, key: str) -> list[list]:
    """``[label, type, view, paths]`` of every sequence of one dataset block's partition."""
    if not data_cfg.get("dataset_root"):
        raise DataError(
            f"{key}.dataset_root: not set; give the dataset folder that holds "
            "<id>/<type>/<view>/ (make one with 'gaitgen prepare RAW OUT')"
        )
    root = require_root(data_cfg["dataset_root"], f"{key}.dataset_root")
    partition_file = data_cfg.get("dataset_partition")
    if not partition_file:
        raise DataError(
            f"{key}.dataset_partition: not set; give the partition JSON file "
            '{"TRAIN_SET": [...], "TEST_SET": [...]}'
        )
    partition = read_partition(partition_file, f"{key}.dataset_partition")
    set_name = "TRAIN_SET" if training else "TEST_SET"
    labels = partition[set_name]
    on_disk = set(ids_on_disk(root))
    missing = [label for label in labels if label not in on_disk]
    if missing:
        raise DataError(
            f"{partition_file}: {len(missing)} id(s) of {set_name} are not folders of "
            f"{root}: {format_ids(missing)}; remove them from the partition or fix "
            f"{key}.dataset_root"
        )
    if not labels:
        raise DataError(f"{partition_file}: {set_name} is empty; list the ids to use")
    entries, empty = scan_sequences(root, labels)
    if empty:
        raise DataError(
            f"{empty[0]}: sequence folder with no files ({len(empty)} such folder(s)); "
            "delete them or re-run 'gaitgen prepare' ('gaitgen check-data' lists them all)"
        )
    if not entries:
        raise DataError(f"{root}: the {set_name} ids hold no sequence folder <type>/<view>/")
    data_in_use = _data_in_use(data_cfg, key)
    _check_modality_files(entries, data_in_use, key)
    return [
        [e.label, e.type, e.view, select_modalities(e.files, data_in_use, e.folder)]
        for e in entries
    ]


class GaitDataSet(Dataset):
    """The training (``TRAIN_SET``) or test (``TEST_SET``) sequences of a dataset.

    Args:
        data_cfg: ``dataset_root``, ``dataset_partition`` (paths), optional ``dataset_name``,
            ``data_in_use``, ``cache``, ``self_supervised`` (training: each sequence is its own
            class, labelled ``<id>-<type>-<view>``); or a list of such blocks, whose sequences
            are joined, the training ids prefixed ``<dataset_name>-`` so that the datasets'
            ids stay apart (as OpenGait's DataSet labels them).
        training: use the partition's TRAIN_SET ids (else TEST_SET).
        identities: keep the sequences of the first N ids only (sorted), for a quick test
            (``evaluator_cfg.limit_identities``); None: every id.

    Raises:
        DataError: a missing root or partition, partition ids missing on disk (named), an
            empty sequence folder, modality counts that differ between sequences.
    """

    def __init__(
        self,
        data_cfg: dict[str, Any] | list[dict[str, Any]],
        training: bool,
        identities: int | None = None,
    ) -> None:
        several = isinstance(data_cfg, list)
        named = named_data_blocks(data_cfg)
        blocks = [block for _, block in named]
        names = [str(block.get("dataset_name", "")) for block in blocks]
        self.dataset_name = str(datasets_name(data_cfg) or "")
        self.seqs_info = []
        for i, (key, block) in enumerate(named):
            rows = _block_sequences(block, training, key)
            if self.seqs_info and len(rows[0][3]) != len(self.seqs_info[0][3]):
                raise DataError(
                    f"{key}.data_in_use: its sequences give {len(rows[0][3])} modalities, those "
                    f"of data_cfg[0] {len(self.seqs_info[0][3])}; every dataset of a data_cfg "
                    "list must feed the model the same modalities"
                )
            if training and block.get("self_supervised"):
                # OpenGait's self-supervised datasets: each sequence is its own class
                rows = [[f"{r[0]}-{r[1]}-{r[2]}", *r[1:]] for r in rows]
            if training and several:
                rows = [[f"{names[i]}-{r[0]}", *r[1:]] for r in rows]  # ids kept apart
            self.seqs_info += rows
        #: how many identities the set has, before ``identities`` kept the first ones
        self.identities_total = len({info[0] for info in self.seqs_info})
        if identities is not None:
            kept = set(sorted({info[0] for info in self.seqs_info})[:identities])
            self.seqs_info = [info for info in self.seqs_info if info[0] in kept]
        self.data_in_use = _data_in_use(blocks[0], named[0][0])
        self.cache = any(bool(block.get("cache", False)) for block in blocks)
        self.label_list = [info[0] for info in self.seqs_info]
        self.types_list = [info[1] for info in self.seqs_info]
        self.views_list = [info[2] for info in self.seqs_info]
        self.label_set = sorted(set(self.label_list))
        self.types_set = sorted(set(self.types_list))
        self.views_set = sorted(set(self.views_list))
        self.indices_dict: dict[str, list[int]] = {label: [] for label in self.label_set}
        for index, label in enumerate(self.label_list):
            self.indices_dict[label].append(index)
        self._cache = SequenceCache([info[3] for info in self.seqs_info]) if self.cache else None
        # per sequence and modality: data offset (-1 unknown, -2 load in full), file size, shape
        self._layouts = torch.full((len(self), self.num_modalities, 2 + _MAX_DIMS), -1)
        self._layouts.share_memory_()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_layout_rows", None)  # the shared tensor travels, not a copy of it
        return state

    @property
    def num_modalities(self) -> int:
        """Files (modalities) used per sequence."""
        return len(self.seqs_info[0][3])

    def __len__(self) -> int:
        return len(self.seqs_info)

    def __getitem__(self, index: int) -> Item:
        info = self.seqs_info[index]
        if self._cache is not None:
            return self._cache.get(index), info
        paths = info[3]
        arrays = [self._load(index, m, p) for m, p in enumerate(paths)]
        check_same_length(arrays, paths)
        return arrays, info

    def __getitems__(
        self, batch: list[int] | IterationBatch[int]
    ) -> list[Item] | IterationBatch[Item]:
        """The items of a batch of indices; a training batch's items keep its iteration."""
        if isinstance(batch, IterationBatch):
            items = [self[index] for index in batch.items]
            return IterationBatch(batch.iteration, items, batch.views)
        return [self[index] for index in batch]

    def _load(self, index: int, modality: int, path: str) -> np.ndarray | FrameFile:
        """One modality of a sequence: frames read on demand once the file's layout is known."""
        if not FRAME_READS or not path.endswith(".pkl"):
            return load_sequence_file(path, mmap=True)
        table = self.__dict__.get("_layout_rows")
        if table is None:  # a numpy view of the shared table, made in each process
            table = self._layout_rows = self._layouts.numpy()
        row = table[index, modality]  # [offset, size, *shape]
        offset = int(row[0])
        if offset >= 0:
            shape = tuple(int(d) for d in row[2:] if d >= 0)
            return FrameFile(path, offset, shape, int(row[1]))
        if offset == -2:
            return load_sequence_file(path)
        array, offset, size = load_pickle_located(path)
        if offset < 0 or array.ndim > _MAX_DIMS:
            row[0] = -2
        else:
            row[2 : 2 + array.ndim] = array.shape
            row[1] = size
            row[0] = offset  # written last: a reader that sees it sees the rest
        return array
