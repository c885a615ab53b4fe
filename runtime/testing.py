"""Checks that generated tests (and users' own tests) call: one line per model, loss, config.

They build the real classes from the real config, feed a small batch of the shapes the config
implies (random silhouettes, or for a config on SynthGait's other modalities a few of its
sequences made in memory and put through the config's own sampler and transforms), and assert the model contract of ``runtime/model.py``: the three output
dicts, a loss for every ``training_feat`` key, finite losses, a gradient for every trainable
parameter, embeddings of shape [n, c, p] that do not mix the sequences joined with ``seqL``,
and a loss that falls when trained on one batch. They need no dataset and run in seconds on
a CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .components import get
from .engine.build import build_losses, build_optimization, check_schedule_length
from .engine.run import Run, load_run
from .engine.staples import Staples
from .engine.step import NonFiniteLoss, TrainStep, model_inputs
from .model import BaseModel, check_embeddings, check_model_output, overrides_pretreatment


def _input_size(cfgs: Mapping[str, Any]) -> tuple[int, int]:
    """(h, w) the training transform produces from 64x64 silhouettes (it is run on one)."""
    from .data.pipeline import BatchPipeline
    from .data.transforms import get_transform

    transform = get_transform(cfgs["trainer_cfg"].get("transform"), "trainer_cfg.transform")
    while isinstance(transform, list):  # one per modality (silhouettes first); or per view
        transform = transform[0]
    frame = torch.zeros(1, 64, 64, dtype=torch.uint8)
    out = BatchPipeline(transform).run(frame, [1], torch.Generator().manual_seed(0))[0]
    return int(out.shape[-2]), int(out.shape[-1])


def random_batch(
    cfgs: Mapping[str, Any],
    identities: int = 2,
    per_identity: int = 2,
    frames: int = 8,
    seed: int = 0,
    raw: bool = False,
    types: Sequence[str] | None = None,
) -> list[Any]:
    """OpenGait's ``[ipts, labs, typs, viws, seqL]`` of the shapes the config's model takes.

    A config on SynthGait with other modalities (``data_cfg.synthetic.modalities``) gets
    SynthGait sequences of those modalities (the files ``data_in_use`` picks), sampled and
    transformed as its training loader does (``raw``: OpenGait's raw batch, untransformed, for
    a model that overrides ``inputs_pretreament``; :func:`~.engine.step.model_inputs` then
    runs it). Any other config gets random silhouettes, fixed length. ``types``: the sequence
    types, taken in turn (a model that reads them declares them:
    :attr:`~gaitgen.runtime.model.BaseModel.sequence_types`); by default SynthGait's. A config
    whose training sampler gives two views of each sequence (``BilateralSampler``) gets a batch
    of two views, as its loader delivers it (:func:`~.engine.step.model_inputs` splits it).
    """
    from .data.batch import PendingInputs
    from .data.seeds import IterationBatch

    views = 1 if raw else _training_views(cfgs)  # a raw batch: the model makes its views
    items = modality_sequences(cfgs, [frames] * identities * per_identity, per_identity, seed)
    if items is not None:
        batch = _collate(cfgs, IterationBatch(0, items * views, views), training=True, raw=raw)
        return _with_types(batch, types)
    generator = torch.Generator().manual_seed(seed)
    n = identities * per_identity * views
    h, w = _input_size(cfgs)
    sils = (torch.rand(n, frames, h, w, generator=generator) > 0.5).float()  # [n, s, h, w]
    labs = torch.arange(identities).repeat_interleave(per_identity).repeat(views)
    ipts = PendingInputs([sils], views=views) if views > 1 else [sils]
    return _with_types([ipts, labs, ["nm-01"] * n, ["090"] * n, None], types)


def _with_types(batch: list[Any], types: Sequence[str] | None) -> list[Any]:
    """``batch`` with its sequence types replaced by ``types`` taken in turn (None: as it is)."""
    if types:
        batch[2] = [types[i % len(types)] for i in range(len(batch[2]))]
    return batch


def _training_views(cfgs: Mapping[str, Any]) -> int:
    """How many views of each sequence the training sampler's batches hold (its ``views``)."""
    sampler = (cfgs.get("trainer_cfg") or {}).get("sampler") or {}
    return getattr(get("sampler", sampler.get("type", "TripletSampler")), "views", 1)


def modality_sequences(
    cfgs: Mapping[str, Any], lengths: Sequence[int], per_identity: int = 1, seed: int = 0
) -> list[tuple[list[np.ndarray], list[Any]]] | None:
    """SynthGait sequences in the files a config reads, as its dataset yields them.

    One sequence of ``lengths[i]`` frames each, ``per_identity`` of each identity, in the
    modalities of ``data_cfg.synthetic`` (in their files' sorted order, those that
    ``data_cfg.data_in_use`` picks). None for a config without ``synthetic.modalities`` or with
    silhouettes only (:func:`random_batch` makes those).
    """
    from .synth.sequence import CONDITIONS, subject_modalities
    from .synth.spec import MODALITY_FILES, parse_modalities

    spec = cfgs["data_cfg"].get("synthetic")
    if not isinstance(spec, Mapping) or spec.get("modalities") is None:
        return None
    modalities = parse_modalities(spec["modalities"])
    if modalities == ("silhouette",):
        return None
    files = sorted(modalities, key=MODALITY_FILES.__getitem__)
    in_use = cfgs["data_cfg"].get("data_in_use")
    if in_use:
        files = [name for name, used in zip(files, in_use) if used]
    items = []
    for index, length in enumerate(lengths):
        subject, condition = divmod(index, per_identity)
        sequences = subject_modalities(
            seed,
            subject,
            ("090",),
            length,
            conditions=(CONDITIONS[condition],),
            modalities=modalities,
            pose_format=spec.get("pose_format", "coco"),
        )
        arrays = sequences[(CONDITIONS[condition], "090")]
        paths = [MODALITY_FILES[name] for name in files]
        info = [f"{subject:03d}", CONDITIONS[condition], "090", paths]
        items.append(([arrays[name] for name in files], info))
    return items


def _collate(
    cfgs: Mapping[str, Any],
    items: list[tuple[list[np.ndarray], list[Any]]] | Any,
    training: bool,
    raw: bool,
    sampler_cfg: Mapping[str, Any] | None = None,
) -> list[Any]:
    """``items`` made into a batch by the loaders' collate, with the phase's transforms."""
    from .data.collate import GaitCollate
    from .data.transforms import get_transform

    section = "trainer_cfg" if training else "evaluator_cfg"
    listed = getattr(items, "items", items)  # an IterationBatch holds its items
    collate = GaitCollate(
        sorted({info[0] for _, info in listed}),
        dict(sampler_cfg or cfgs[section]["sampler"]),
        None if raw else get_transform(cfgs[section].get("transform"), f"{section}.transform"),
        modalities=len(listed[0][0]),
        float_inputs=True,
        raw=raw,
    )
    return collate(items)  # a list of items, or an IterationBatch of them


def _load(config_path: Path | str) -> Run:
    return load_run(config_path)


def check_model(model_cls: type | str, config_path: Path | str) -> dict[str, Any]:
    """Build ``model_cls`` from the config and check it as the trainer and the tester use it.

    One training forward must give the three output dicts and a finite loss for every
    ``training_feat`` key; its backward pass must give every trainable parameter a gradient
    (:func:`check_gradients`); in eval mode, whole sequences joined with ``seqL`` must give
    the embeddings each gives alone (:func:`check_whole_sequences`); and a few optimizer
    steps on one fixed batch must lower the loss (:func:`check_loss_falls`).

    Returns the output dict of the first training forward, for further assertions.
    """
    run = _load(config_path)
    if isinstance(model_cls, str):
        model_cls = get("model", model_cls, run.project)
    assert issubclass(model_cls, BaseModel), f"{model_cls} is not a BaseModel subclass"
    torch.manual_seed(0)
    model = model_cls(run.cfgs, True)
    losses = build_losses(run.cfgs, run.project)
    batch = random_batch(
        run.cfgs, raw=overrides_pretreatment(model_cls), types=model_cls.sequence_types
    )
    batch = model_inputs(model, batch, torch.device("cpu"))
    output = model(batch)
    check_model_output(output, model_cls.__name__)
    loss, info = losses(output["training_feat"])
    assert torch.isfinite(loss).all(), f"non-finite loss {loss} ({info})"
    loss.backward()
    check_gradients(model)
    check_embeddings(model_cls.__name__, output["inference_feat"].get("embeddings"), batch)
    model.eval()
    with torch.no_grad():  # a two-view training batch: the test phase sees one view
        check_model_output(model(_one_view(batch)), model_cls.__name__)
        check_whole_sequences(model, run.cfgs)
    model.train()
    check_loss_falls(model, losses, batch)
    return output


def _one_view(batch: list[Any]) -> list[Any]:
    """The first view of a two-view batch (as the test phase's batches are); others as they are."""
    from .data.batch import is_two_views

    if not is_two_views(batch[0]):
        return batch
    return [batch[0][0], *batch[1:4], batch[4][0]]


def check_gradients(model: torch.nn.Module) -> None:
    """After a backward pass, every trainable parameter must hold a finite, non-zero gradient.

    A parameter that gets none belongs to a layer that forward never uses, or whose output
    is cut off from the loss; each one is named. Parameters a :class:`BaseModel` declares in
    :meth:`~gaitgen.runtime.model.BaseModel.parameters_without_gradient` are left out.
    """
    name = type(model).__name__
    trainable = [(key, p) for key, p in model.named_parameters() if p.requires_grad]
    exempt = tuple(model.parameters_without_gradient()) if isinstance(model, BaseModel) else ()
    stale = [
        pattern for pattern in exempt if not any(fnmatchcase(k, pattern) for k, _ in trainable)
    ]
    if stale:
        raise AssertionError(
            f"{name}.parameters_without_gradient() names {stale}, which match no trainable "
            "parameter; list names as model.named_parameters() spells them (fnmatch patterns)"
        )
    problems = []
    for key, parameter in trainable:
        if any(fnmatchcase(key, pattern) for pattern in exempt):
            continue
        if parameter.grad is None:
            problems.append(f"{key} (no gradient)")
        elif not torch.isfinite(parameter.grad).all():
            problems.append(f"{key} (non-finite gradient)")
        elif not parameter.grad.any():
            problems.append(f"{key} (gradient all zero)")
    if problems:
        raise AssertionError(
            f"{name}: {len(problems)} of {len(trainable)} trainable parameters got no usable "
            f"gradient from a training step: {', '.join(problems)}. Use every layer in forward "
            "on the way to a training_feat loss, or, if a layer is unused in training on "
            f"purpose, return its parameter names from {name}.parameters_without_gradient()"
        )


def check_loss_falls(
    model: torch.nn.Module,
    losses: Callable[[Any], tuple[torch.Tensor, Any]],
    batch: list[Any],
    steps: int = 4,
    lr: float = 1e-3,
) -> list[float]:
    """A few Adam steps on one fixed batch must lower the loss: the model can learn at all.

    The seed is reset before every forward (the caller's random state is restored after),
    so dropout draws the same masks each step and only the parameters change. Passes when
    the mean loss of the last two steps is below the first step's; returns the losses. The
    model is trained in place.
    """
    if steps < 3:
        raise ValueError(
            f"check_loss_falls needs steps >= 3 (the last two and a first), got {steps}"
        )
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    history = []
    with torch.random.fork_rng(devices=[]):
        for _ in range(steps):
            torch.manual_seed(0)
            loss, _ = losses(model(batch)["training_feat"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(float(loss.detach()))
    last = sum(history[-2:]) / 2
    if not last < history[0]:
        raise AssertionError(
            f"{type(model).__name__}: the loss did not fall over {steps} Adam steps (lr {lr}) on "
            f"one fixed batch: {[round(value, 4) for value in history]}; check that the loss "
            "depends on the trainable parameters (no .detach() or frozen layer on its way)"
        )
    return history


def joined_batch(
    cfgs: Mapping[str, Any],
    lengths: tuple[int, ...] = (6, 9),
    seed: int = 1,
    raw: bool = False,
    types: Sequence[str] | None = None,
) -> list[Any] | None:
    """A test-phase batch: whole sequences of ``lengths`` frames joined, with ``seqL``.

    Of the config's modalities as :func:`random_batch` makes them (``raw`` and ``types`` as
    there), with the test transforms; None when its test sampler takes fixed-length clips or one sequence
    per batch (the test phase never joins sequences then).
    """
    items = modality_sequences(cfgs, lengths, 1, seed)
    if items is not None:
        sampler = cfgs["evaluator_cfg"]["sampler"]
        if sampler.get("sample_type", "").startswith("fixed") or sampler.get("batch_size") == 1:
            return None
        sampler = {"sample_type": "all_ordered"}
        batch = _collate(cfgs, items, training=False, raw=raw, sampler_cfg=sampler)
        return _with_types(batch, types)
    generator = torch.Generator().manual_seed(seed)
    h, w = _input_size(cfgs)
    sils = (torch.rand(1, sum(lengths), h, w, generator=generator) > 0.5).float()
    n = len(lengths)
    labs = torch.arange(n)
    return _with_types(
        [[sils], labs, ["nm-01"] * n, ["090"] * n, torch.tensor([list(lengths)])], types
    )


def check_whole_sequences(model: BaseModel, cfgs: Mapping[str, Any]) -> None:
    """In eval mode, sequences joined with ``seqL`` (as the test phase feeds them) must give
    one embedding each, equal to what each sequence gives alone. Nothing to check for a config
    whose test phase takes fixed-length clips or one sequence per batch (what a model that
    ignores ``seqL`` or lets its temporal convolutions cross sequences needs)."""
    types = getattr(model, "sequence_types", None)
    batch = joined_batch(cfgs, raw=overrides_pretreatment(model), types=types)
    if batch is None:
        return
    batch = model_inputs(model, batch, torch.device("cpu"))
    name = type(model).__name__
    joined = check_embeddings(name, model(batch)["inference_feat"].get("embeddings"), batch)
    start = 0
    for index, length in enumerate(batch[4][0].tolist()):
        alone = [
            [x[:, start : start + length] for x in batch[0]],  # every modality's frames
            batch[1][index : index + 1],
            batch[2][index : index + 1],
            batch[3][index : index + 1],
            torch.tensor([[length]]),
        ]
        single = model(alone)["inference_feat"]["embeddings"]
        scale = float(single.abs().max()) or 1.0
        assert torch.allclose(joined[index], single[0], rtol=1e-4, atol=1e-5 * scale), (
            f"{name}: sequence {index} of a test batch joined with seqL gets another embedding "
            "than alone; pool each sequence on its own using seqL"
        )
        start += length


def check_config(config_path: Path | str, steps: int = 2) -> list[float]:
    """Build everything the config names and run ``steps`` optimiser steps on random batches.

    Returns the losses, which must all be finite; the parameters must change.
    """
    run = _load(config_path)
    torch.manual_seed(0)
    model = get("model", run.cfgs["model_cfg"]["model"], run.project)(run.cfgs, True)
    losses = build_losses(run.cfgs, run.project)
    optimizer, scheduler = build_optimization(model, run.cfgs)
    check_schedule_length(scheduler, run.cfgs, str(run.config_path))
    staples = Staples.from_config(run.cfgs, model, optimizer)  # clipping, warmup, EMA
    train_step = TrainStep(
        model, losses, optimizer, scheduler, torch.device("cpu"), staples=staples
    )
    before = [p.detach().clone() for p in model.parameters()]
    history = []
    for step in range(steps):
        batch = random_batch(
            run.cfgs,
            seed=step,
            raw=overrides_pretreatment(model),
            types=getattr(model, "sequence_types", None),
        )
        try:
            result = train_step(batch, iteration=step)
        except NonFiniteLoss as exc:
            raise AssertionError(
                f"step {step}: non-finite loss {exc.loss_sum} ({exc.terms})"
            ) from None
        history.append(float(result.loss_sum))
    changed = any(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))
    assert changed, "the optimiser steps did not change any parameter"
    return history


def loss_gradients(config_path: Path | str) -> dict[str, float]:
    """How much each configured loss trains the model, on one random batch.

    Builds the model and ``loss_cfg`` of the config, runs one forward, and for every term the
    losses add (each ``loss_cfg`` entry under its ``log_prefix``, a bare tensor under its
    key) measures the gradient that term alone sends into the model's parameters (the sum of
    absolute values; 0 when it does not reach them, e.g. a loss fed detached tensors).
    """
    run = _load(config_path)
    torch.manual_seed(0)
    model = get("model", run.cfgs["model_cfg"]["model"], run.project)(run.cfgs, True)
    losses = build_losses(run.cfgs, run.project)
    batch = random_batch(
        run.cfgs, raw=overrides_pretreatment(model), types=getattr(model, "sequence_types", None)
    )
    output = model(model_inputs(model, batch, torch.device("cpu")))
    terms, _ = losses.loss_terms(output["training_feat"])
    parameters = [p for p in model.parameters() if p.requires_grad]
    sizes = {}
    for key, term in terms.items():
        if not term.requires_grad:
            sizes[key] = 0.0
            continue
        grads = torch.autograd.grad(term, parameters, retain_graph=True, allow_unused=True)
        sizes[key] = float(sum(g.abs().sum() for g in grads if g is not None))
    return sizes


def check_loss(
    loss_cls: type, pairwise: bool = True, **init_kwargs: Any
) -> tuple[torch.Tensor, dict]:
    """Call a loss on a small random batch and check its value, gradient and info.

    Pairwise losses get ``embeddings`` [n, c, p] and ``labels``; the others ``logits``
    [n, classes, p] and ``labels``.
    """
    from .losses.base import BaseLoss

    assert issubclass(loss_cls, BaseLoss), f"{loss_cls} is not a BaseLoss subclass"
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat_interleave(2)  # P x K = 4 x 2
    loss_fn = loss_cls(**init_kwargs)
    if pairwise:
        inputs = torch.randn(8, 16, 4, generator=generator, requires_grad=True)
        loss, info = loss_fn(embeddings=inputs, labels=labels)
    else:
        inputs = torch.randn(8, 4, 4, generator=generator, requires_grad=True)
        loss, info = loss_fn(logits=inputs, labels=labels)
    assert isinstance(loss, torch.Tensor), f"{loss_cls.__name__} must return a tensor loss"
    assert torch.isfinite(loss).all(), f"{loss_cls.__name__} returned a non-finite loss {loss}"
    assert isinstance(info, Mapping), f"{loss_cls.__name__} must return (loss, self.info)"
    loss.mean().backward()
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all(), "no finite gradient"
    return loss, dict(info)
