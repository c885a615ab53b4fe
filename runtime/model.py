"""The model contract: subclass BaseModel, build layers, return three dicts (see README.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .errors import DataError, TrainingError

OUTPUT_KEYS = ("training_feat", "visual_summary", "inference_feat")
PRETREATMENT = "inputs_pretreament"  # OpenGait's spelling: the name its models override


class BaseModel(nn.Module):
    """Base class of every gait model (OpenGait's contract).

    A subclass implements :meth:`build_network` (build the layers from ``model_cfg``; return
    nothing) and :meth:`forward` (take OpenGait's ``inputs = [ipts, labs, typs, viws, seqL]``
    and return a dict with ``training_feat``, ``visual_summary`` and ``inference_feat``).
    Training loops, optimisers, checkpoints and devices belong to the runtime's engine, not
    to the model, so a model is an ordinary ``nn.Module`` that tests can build and call.

    What a model written for OpenGait touches is here under OpenGait's names:
    ``self.cfgs`` (the whole config), ``self.engine_cfg`` (``trainer_cfg`` when built for
    training, else ``evaluator_cfg``), ``self.iteration`` (the trainer's current iteration,
    kept up to date before every forward), ``self.msg_mgr``, :meth:`get_backbone`,
    :meth:`init_parameters`, and the trainer's hooks :meth:`get_optimizer` and
    :meth:`get_scheduler` (``self.optimizer`` is the optimizer once the trainer built it),
    and :meth:`inputs_pretreament`, which a model overrides to see the raw batch.

    Args:
        cfgs: the whole resolved config (``model_cfg`` is passed to build_network).
        is_training: True when the model is built for training (OpenGait's ``training`` flag).
    """

    #: The sequence types forward accepts, for a model that reads ``typs`` (ScoNet takes its
    #: classes from them); None: any type. Tests' random batches use these types
    #: (:func:`gaitgen.runtime.testing.random_batch`).
    sequence_types: tuple[str, ...] | None = None

    def type_classes(self, typs: Any, device: torch.device | str) -> torch.Tensor:
        """The class index of each sequence from its type: its position in
        :attr:`sequence_types` (ScoNet's and FoundationGait's Scoliosis1K probe's classes).

        Raises:
            DataError: no types, or a type that is not one of :attr:`sequence_types`
                (OpenGait raises KeyError).
        """
        name = type(self).__name__
        index = {t: i for i, t in enumerate(self.sequence_types or ())}
        if typs is None:
            raise DataError(
                f"{name} takes its class from each sequence's type, but the batch carries no "
                "types (inputs[2] is None): pass the loader's [ipts, labs, typs, viws, seqL]"
            )
        unknown = sorted({str(t) for t in typs if t not in index})
        if unknown:
            accepted = ", ".join(repr(t) for t in index)
            raise DataError(
                f"{name} takes its class from each sequence's type (the <type> folder of "
                f"<id>/<type>/<view>), which must be one of {accepted} (lowercase, as "
                f"OpenGait's {name} maps them); got {', '.join(repr(t) for t in unknown)}: "
                "name the type folders so (Scoliosis1K's own layout)"
            )
        return torch.tensor([index[t] for t in typs], dtype=torch.long, device=device)

    def __init__(self, cfgs: Mapping[str, Any], is_training: bool):
        super().__init__()
        self.cfgs = cfgs
        self.is_training = bool(is_training)
        self.engine_cfg = cfgs.get("trainer_cfg" if is_training else "evaluator_cfg") or {}
        self.iteration = 0
        self.optimizer: torch.optim.Optimizer | None = None  # set by the trainer
        if "model_cfg" not in cfgs:
            raise TrainingError(f"{type(self).__name__}: the config has no model_cfg")
        check_pretreatment_hook(type(self))
        result = self.build_network(cfgs["model_cfg"])
        if result is not None:
            raise TypeError(
                f"{type(self).__name__}.build_network must set attributes and "
                f"return None, but returned {type(result).__name__}"
            )
        self.init_parameters()
        self.train(self.is_training)

    def build_network(self, model_cfg: Mapping[str, Any]) -> None:
        """Build the layers of the network as attributes of ``self``."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_network(model_cfg)")

    def forward(self, inputs: list[Any]) -> dict[str, dict[str, Any]]:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(inputs)")

    def inputs_pretreament(self, inputs: list[Any]) -> list[Any]:
        """OpenGait's hook: the raw collated batch -> the inputs of :meth:`forward`.

        ``inputs`` is ``[seqs, labs, typs, viws, seqL]`` as OpenGait's collate makes it:
        ``seqs`` one list per modality of numpy arrays (one per sequence, ``[s, ...]``; or,
        with ``seqL`` ``[[s_1, ...]]``, one of the sequences joined along the frames),
        ``labs`` the label indices. This default runs the transform of the phase
        (``trainer_cfg.transform`` in train mode, else ``evaluator_cfg.transform``) and
        returns float32 tensors, as the loader's workers do for a model that keeps it.

        A model that overrides it (OpenGait's SkeletonGaitPP joins two modalities into
        one) gets every batch of ``gaitgen train``, ``test`` and ``extract`` through it:
        the loader then skips the transforms (``build_loader(..., raw_batches=True)``) and
        the engine's step calls the override in the training process, which usually ends
        with ``super().inputs_pretreament(new_inputs)``.

        Returns:
            ``[ipts, labs, typs, viws, seqL]``: ``ipts`` one float32 tensor per modality,
            ``labs`` and ``seqL`` LongTensors (``seqL`` None for fixed-length batches).
        """
        from .data.pipeline import pretreat_batch
        from .data.transforms import get_transform

        section = "trainer_cfg" if self.training else "evaluator_cfg"
        built = self.__dict__.setdefault("_phase_transforms", {})
        if section not in built:
            cfg = (self.cfgs.get(section) or {}).get("transform")
            built[section] = get_transform(cfg, f"{section}.transform")
        return pretreat_batch(inputs, built[section], f"{section}.transform")

    @property
    def msg_mgr(self) -> Any:
        """OpenGait's message manager (``log_info``/``log_warning``/``log_debug``), as logging."""
        from .compat import get_msg_mgr

        return get_msg_mgr()

    def get_backbone(self, backbone_cfg: Any) -> nn.Module:
        """Build a backbone from ``{"type": name, **params}``, or a ModuleList from a list of them.

        ``type`` names a backbone (``ResNet9``, ``Plain``, a project's own: ``gaitgen list
        backbone``), as OpenGait's ``get_backbone`` names one of its ``backbones`` package.
        """
        from .components import build

        if isinstance(backbone_cfg, (list, tuple)):
            return nn.ModuleList(
                build("backbone", cfg, where=f"model_cfg.backbone_cfg[{i}]")
                for i, cfg in enumerate(backbone_cfg)
            )
        return build("backbone", backbone_cfg, where="model_cfg.backbone_cfg")

    def get_optimizer(self, optimizer_cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
        """The optimizer the trainer uses (OpenGait's hook): ``optimizer_cfg.solver`` over the
        trainable parameters. Override it for parameter groups (SwinGait does)."""
        from .components import build

        return build("optimizer", optimizer_cfg, [p for p in self.parameters() if p.requires_grad])

    def get_scheduler(self, scheduler_cfg: Mapping[str, Any]) -> Any:
        """The learning-rate scheduler of ``self.optimizer`` (OpenGait's hook and signature)."""
        from .components import build

        return build("scheduler", scheduler_cfg, self.optimizer)

    def after_train_step(self, iteration: int) -> None:
        """Called after every training step that updated the weights (the hook of a model
        that changes weights outside the optimizer, e.g. FoundationGait's EMA teacher).

        Args:
            iteration: the steps completed, this one included (OpenGait's ``self.iteration``
                after its ``train_step``).
        """

    def parameters_without_gradient(self) -> tuple[str, ...]:
        """Parameters that rightly get no gradient from a training step: the opt-out of the test.

        ``gaitgen.runtime.testing.check_model`` fails unless every trainable parameter gets a
        finite, non-zero gradient from one training forward and backward, naming each one that
        does not: such a layer is usually a bug (built but never called, or cut off by a
        ``.detach()``). A model that keeps a layer unused in training on purpose (a layer used
        only at test time, or only in another training phase) returns the names of those
        parameters here, as ``fnmatch`` patterns (``"head.*"``), and may consult ``self.cfgs``
        to tell the phase. Every pattern must match a parameter; the default is none.
        """
        return ()

    def init_parameters(self) -> None:
        """Initialise convolutions and linears (Xavier) and normalisation layers (weight ~ N(1, 0.02), bias 0).

        Override to initialise differently; the default matches the usual gait-model recipe.
        """
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Conv1d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
                if module.affine:
                    nn.init.normal_(module.weight, 1.0, 0.02)
                    nn.init.zeros_(module.bias)


def overrides_pretreatment(model: Any) -> bool:
    """Whether a model (or model class) overrides :meth:`BaseModel.inputs_pretreament`: its
    batches must then reach it raw, the transforms not run (``build_loader(...,
    raw_batches=True)``)."""
    cls = model if isinstance(model, type) else type(model)
    return (
        issubclass(cls, BaseModel)
        and getattr(cls, PRETREATMENT) is not BaseModel.inputs_pretreament
    )


def check_pretreatment_hook(cls: type) -> None:
    """Refuse a model whose pretreatment would be silently ignored or cannot be called.

    Raises:
        TrainingError: the class defines a method named almost like OpenGait's
            ``inputs_pretreament`` (``inputs_pretreatment``...) and not that one, which
            nothing would call; or its override does not take one argument (the batch).
    """
    import difflib
    import inspect

    own = {name for klass in cls.__mro__[:-1] if klass is not BaseModel for name in vars(klass)}
    own -= set(dir(nn.Module))
    if PRETREATMENT not in own:
        near = [n for n in own if difflib.SequenceMatcher(None, n, PRETREATMENT).ratio() >= 0.85]
        if near:
            raise TrainingError(
                f"{cls.__name__} defines {sorted(near)[0]}, which nothing calls: the runtime "
                f"calls OpenGait's spelling {PRETREATMENT}(self, inputs); rename it to "
                f"{PRETREATMENT}"
            )
        return
    try:
        inspect.signature(getattr(cls, PRETREATMENT)).bind(None, [])
    except (TypeError, ValueError):
        raise TrainingError(
            f"{cls.__name__}.{PRETREATMENT} must take the raw batch as its one argument, "
            f"as OpenGait's: def {PRETREATMENT}(self, inputs)"
        ) from None


def check_model_output(output: Any, model_name: str) -> None:
    """Raise a TrainingError naming what is wrong with a model's forward output."""
    if not isinstance(output, Mapping):
        raise TrainingError(
            f"{model_name}.forward must return a dict with keys "
            f"{list(OUTPUT_KEYS)}, got {type(output).__name__}"
        )
    missing = [key for key in OUTPUT_KEYS if key not in output]
    if missing:
        raise TrainingError(
            f"{model_name}.forward returned no {missing}: it must return "
            f"{list(OUTPUT_KEYS)} (use an empty dict for visual_summary if unused)"
        )
    for key in OUTPUT_KEYS:
        if not isinstance(output[key], Mapping):
            raise TrainingError(
                f"{model_name}.forward: {key!r} must be a dict, "
                f"got {type(output[key]).__name__}"
            )
    embeddings = output["inference_feat"].get("embeddings")
    if isinstance(embeddings, torch.Tensor):
        check_embeddings(model_name, embeddings)


def check_embeddings(
    model_name: str, embeddings: Any, inputs: list[Any] | None = None
) -> torch.Tensor:
    """``inference_feat['embeddings']`` is [n, c, p], one per sequence of ``inputs`` if given.

    Test batches of whole sequences come joined along the frame axis with their lengths in
    ``seqL``; a model that ignores ``seqL`` pools them as one and returns one embedding.

    Args:
        model_name: the model's class name, for the message.
        embeddings: what the forward returned as ``inference_feat['embeddings']``.
        inputs: the batch (``[ipts, labs, typs, viws, seqL]``) it was computed from.

    Returns:
        The embeddings, checked.

    Raises:
        TrainingError: no tensor, not 3-D, or not one embedding per sequence; the message
            names the model and the fix.
    """
    if embeddings is None:
        raise TrainingError(
            f"{model_name}.forward: inference_feat has no 'embeddings' entry, which "
            "evaluation needs ([n, c, p])"
        )
    if not isinstance(embeddings, torch.Tensor) or embeddings.dim() != 3:
        shape = list(embeddings.shape) if isinstance(embeddings, torch.Tensor) else embeddings
        raise TrainingError(
            f"{model_name}.forward: inference_feat['embeddings'] must be [n, c, p], got {shape}"
        )
    if inputs is None:
        return embeddings
    sequences = len(inputs[1])  # labs: one per sequence, also when joined with seqL
    if embeddings.shape[0] != sequences:
        seq_lengths = inputs[4]
        joined = (
            f"joined along the frame axis with seqL {seq_lengths[0].tolist()}"
            if seq_lengths is not None
            else "of fixed length"
        )
        raise TrainingError(
            f"{model_name}.forward returned {embeddings.shape[0]} embeddings for a test batch "
            f"of {sequences} sequences {joined}: the model must pool each sequence on its own "
            "using seqL (e.g. PackSequenceWrapper(torch.max)(x, seqL, options={'dim': 2}))"
        )
    return embeddings
