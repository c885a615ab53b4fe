"""``build_loader``: the dataset, sampler, transforms and collate function of a run, wired.

Training uses ``trainer_cfg.sampler``/``transform`` and the partition's TRAIN_SET; testing
uses ``evaluator_cfg`` and TEST_SET. Frame sampling and transforms run in the DataLoader
workers (``data_cfg.num_workers``), a whole batch at a time; each worker writes its batches
into a few shared-memory blocks that it reuses once this process has let go of them
(:mod:`.shared_batches`). On CUDA batches are pinned and workers persist.

Silhouette batches arrive uint8 (a quarter of the memory to fill, share, pin and copy);
``loader.to_device(inputs, device)`` (or :func:`.batch.finish_inputs`, which the engine's
``move_inputs`` uses) moves them and divides by 255 there, bit-identical to OpenGait's float
path, which ``build_loader(..., float_inputs=True)`` keeps in the workers.

Example::

    loader = build_loader(cfgs, training=True, rank=rank, world_size=world, seed=seed)
    for inputs in loader:
        ipts, labs, typs, viws, seqL = loader.to_device(inputs, device)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from ..config.schema import FRAME_SAMPLING_KEYS, ignored_in
from ..errors import ConfigError, GaitgenError
from .batch import finish_inputs
from .collate import GaitCollate
from .dataset import GaitDataSet
from .seeds import frame_seed, mix_seed
from .shared_batches import SharedBatchPool
from .transforms import get_transform
from .workers import worker_init

logger = logging.getLogger(__name__)

# sampler config keys read by the collate function or ignored by OpenGait's samplers (from
# the config schema: the one place sampler keys are defined)
_SAMPLING_KEYS = (
    "type",
    *FRAME_SAMPLING_KEYS,
    "batch_shuffle",
    *ignored_in("trainer_cfg.sampler"),
)
_RUN_ARGUMENTS = ("rank", "world_size", "seed", "start_iteration")


def _worker_error_message(exc: GaitgenError) -> str:
    """The original message of an error re-raised by a DataLoader worker (no traceback)."""
    text = str(exc)
    if "Original Traceback" not in text:
        return text
    last = text.rstrip().splitlines()[-1]
    return re.sub(r"^[\w.]+Error: ", "", last)


class GaitDataLoader(DataLoader):
    """A DataLoader whose worker errors reach the user as one clear message.

    ``loader.dataset`` is the :class:`GaitDataSet`; ``loader.batch_sampler`` the sampler
    (``shard_indices`` for an InferenceSampler); ``loader.pool`` the shared blocks its workers
    write batches into (None without workers).

    Args:
        dataset: the dataset.
        pool: the shared blocks of the workers, the same the collate function writes into;
            this loader hands them back as the batches it delivered are let go.
        **kwargs: DataLoader's arguments.
    """

    def __init__(self, dataset: Any, *, pool: SharedBatchPool | None = None, **kwargs: Any) -> None:
        super().__init__(dataset, **kwargs)
        self.pool = pool

    def __iter__(self) -> Iterator[Any]:
        pool = self.pool
        starts_workers = not (self.persistent_workers and self._iterator is not None)
        if pool is not None and self.num_workers > 0 and starts_workers:
            pool.new_generation()  # before the workers start: they take these flags
        iterator = super().__iter__()
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except GaitgenError as exc:
                raise type(exc)(_worker_error_message(exc)) from None
            if pool is not None:
                ipts = batch[0]
                pool.received(ipts.tensors, ipts.blocks)
                pool.release_free()
            yield batch

    @staticmethod
    def to_device(inputs: list[Any], device: torch.device | str) -> list[Any]:
        """Finish a batch on the training device: ``[ipts, labs, typs, viws, seqL]`` moved there,
        ``ipts`` converted to float32 with the transforms' value maps (``x / 255``...).

        Args:
            inputs: a batch of this loader (uint8 or float ``ipts``).
            device: the training device.

        Returns:
            The batch with float32 ``ipts`` (as OpenGait's) on ``device``.
        """
        ipts, labs, typs, viws, seq_l = inputs
        device = torch.device(device)
        non_blocking = device.type == "cuda"
        labs = labs.to(device, non_blocking=non_blocking)
        if seq_l is not None:
            seq_l = seq_l.to(device, non_blocking=non_blocking)
        return [finish_inputs(ipts, device), labs, typs, viws, seq_l]


def build_sampler(
    dataset: GaitDataSet,
    sampler_cfg: dict[str, Any],
    training: bool,
    *,
    key: str,
    rank: int = 0,
    world_size: int = 1,
    seed: int = 0,
    start_iteration: int = 0,
) -> Any:
    """Build the batch sampler a sampler config names.

    As in OpenGait, the config's entries that the sampler's constructor accepts are passed
    to it, and the frame-sampling keys are left to the collate function; ``rank``,
    ``world_size``, ``seed`` and ``start_iteration`` are passed when the sampler accepts them.
    """
    from ..components import accepted_parameters, check_arguments, get

    default = "TripletSampler" if training else "InferenceSampler"
    cls = get("sampler", sampler_cfg.get("type", default), where=f"{key}.type")
    for name in _RUN_ARGUMENTS:
        if name in sampler_cfg:
            raise ConfigError(f"{key}.{name}: set by the run, not by the config; remove it")
    kwargs = check_arguments(
        cls,
        {k: v for k, v in sampler_cfg.items() if k != "type"},
        key,
        supplied=("dataset", *_RUN_ARGUMENTS),
        dropped=dict.fromkeys(_SAMPLING_KEYS),
    )
    accepted = set(accepted_parameters(cls))
    run_values = dict(rank=rank, world_size=world_size, seed=seed, start_iteration=start_iteration)
    kwargs.update({k: v for k, v in run_values.items() if k in accepted})
    if world_size > 1 and "world_size" not in accepted:
        raise ConfigError(
            f"{key}.type: {cls.__name__} takes no rank/world_size, so it cannot shard batches "
            f"over {world_size} processes; use a sampler that does"
        )
    unused = sorted(k for k in sampler_cfg if k == "batch_shuffle" and k not in accepted)
    if unused:
        logger.debug("%s: %s ignores %s", key, cls.__name__, ", ".join(unused))
    return cls(dataset, **kwargs)


def build_loader(
    cfgs: dict[str, Any],
    training: bool,
    *,
    rank: int = 0,
    world_size: int = 1,
    seed: int = 0,
    start_iteration: int = 0,
    device_type: str = "cpu",
    float_inputs: bool = False,
    raw_batches: bool = False,
) -> GaitDataLoader:
    """Build the training or test loader of a resolved config.

    Args:
        cfgs: the whole resolved config (``data_cfg``, ``trainer_cfg``, ``evaluator_cfg``);
            paths in ``data_cfg`` already absolute.
        training: training loader (TRAIN_SET, endless P x K batches) or test loader.
        rank: this process's rank.
        world_size: number of processes.
        seed: the run's seed (batches and worker seeds derive from it).
        start_iteration: first training iteration (for resumed runs).
        device_type: ``"cuda"`` pins batches and keeps workers alive.
        float_inputs: deliver finished float32 ``ipts`` (OpenGait's). By default uint8
            batches come with pending value maps: finish them with ``loader.to_device``.
        raw_batches: deliver OpenGait's raw collated batches, the transforms not run (``ipts``
            a :class:`.batch.RawSequences`), for a model that overrides
            ``inputs_pretreament`` (:func:`gaitgen.runtime.model.overrides_pretreatment`):
            the engine's step hands them to that method.

    Returns:
        A DataLoader yielding ``[ipts, labs, typs, viws, seqL]``.

    Raises:
        ConfigError, RegistryError, DataError: naming the key or file at fault.
    """
    section = "trainer_cfg" if training else "evaluator_cfg"
    data_cfg = cfgs.get("data_cfg")
    several = isinstance(data_cfg, list) and data_cfg and all(isinstance(b, dict) for b in data_cfg)
    if not isinstance(data_cfg, dict) and not several:
        raise ConfigError(
            "data_cfg: missing; the config needs data_cfg with dataset_root and dataset_partition"
        )
    if several and not training:
        data_cfg = data_cfg[0]  # OpenGait tests on the first dataset of a list
    run_cfg = cfgs.get(section) or {}
    sampler_cfg = run_cfg.get("sampler")
    if not isinstance(sampler_cfg, dict):
        raise ConfigError(f"{section}.sampler: missing; give type, batch_size and sample_type")
    dataset = GaitDataSet(data_cfg, training, None if training else run_cfg.get("limit_identities"))
    sampler = build_sampler(
        dataset,
        sampler_cfg,
        training,
        key=f"{section}.sampler",
        rank=rank,
        world_size=world_size,
        seed=seed,
        start_iteration=start_iteration,
    )
    transforms = get_transform(run_cfg.get("transform"), f"{section}.transform")
    workers = (data_cfg[0] if isinstance(data_cfg, list) else data_cfg).get("num_workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"data_cfg.num_workers: expected a whole number >= 0, got {workers!r}")
    pool = SharedBatchPool(workers) if workers > 0 and not raw_batches else None
    collate = GaitCollate(
        dataset.label_set,
        sampler_cfg,
        transforms,
        modalities=dataset.num_modalities,
        key=f"{section}.sampler",
        transform_key=f"{section}.transform",
        float_inputs=float_inputs,
        pool=pool,
        # training: frames drawn per (seed, rank, iteration), so resuming is exact
        frame_seed=frame_seed(seed, rank) if training else None,
        raw=raw_batches,
    )
    cuda = device_type == "cuda"
    generator = torch.Generator().manual_seed(mix_seed(seed, rank + (1 << 20) * int(training)))
    return GaitDataLoader(
        dataset,
        pool=pool,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=workers,
        pin_memory=cuda,
        persistent_workers=cuda and workers > 0,
        generator=generator,
        worker_init_fn=worker_init if workers > 0 else None,
    )
