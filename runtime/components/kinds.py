"""The table of component kinds: what each kind's base class is and where its members live.

Everything here is a string, so reading the table imports nothing heavy. A kind's built-ins
are found one of two ways:

- ``builtin`` folders (relative to ``gaitgen/runtime``): every public top-level class that
  derives, directly or through another member, from the kind's base is a member. Adding a
  built-in is adding a file there.
  A library's classes are found the same way, in its files (``library`` and ``builtin``,
  the torch optimizers and schedulers), and taken from its public ``namespace`` module.
- ``table``: a mapping ``name -> object`` in a torch-free module (the evaluation presets,
  which are data rather than classes).

A project adds its own members of a kind in ``<package>/<project_folder>/``; a project class
named like a built-in shadows it (with one warning), two project classes of one name are an
error naming both files.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import RegistryError, did_you_mean


@dataclass(frozen=True)
class Kind:
    """One kind of component.

    Attributes:
        name: the kind's name, as ``gaitgen list KIND`` takes it (``"model"``).
        plural: its plural, for listings (``"models"``).
        base: ``"module:Class"``, the class every member derives from.
        config_key: where a config names a member (``"model_cfg.model"``), for messages.
        name_key: the key of a config block that holds the member's name (``"type"``).
        builtin: folders or files scanned for members, relative to ``gaitgen/runtime`` (or
            to ``library``'s folder).
        library: a top-level package whose folder ``builtin`` is relative to (``torch``);
            it is located, not imported.
        project_folder: folder of a project's package holding the project's members.
        namespace: the public module a library's members are taken from (``torch.optim``).
        table: ``"module:ATTRIBUTE"``, a mapping ``name -> object`` of built-ins.
        aliases: ``"module:ATTRIBUTE"``, a mapping ``alias -> name`` for a table kind.
        ignore_case: names match whatever their case (``synthgait`` is ``SynthGait``).
        not_arguments: keys of a member's config block that are not constructor arguments.
        supplied: constructor parameters the caller passes itself (not from the config).
        dropped_section: the config section whose OpenGait-dropped keys apply to members
            (see ``OPENGAIT_IGNORED`` in ``runtime/config/schema.py``).
    """

    name: str
    plural: str
    base: str
    config_key: str
    name_key: str = "type"
    builtin: tuple[str, ...] = ()
    library: str | None = None
    project_folder: str | None = None
    namespace: str | None = None
    table: str | None = None
    aliases: str | None = None
    ignore_case: bool = False
    not_arguments: tuple[str, ...] = ()
    supplied: tuple[str, ...] = ()
    dropped_section: str | None = None

    @property
    def base_name(self) -> str:
        """The base class's name (``BaseModel``)."""
        return self.base.rpartition(":")[2]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "model",
            "models",
            "gaitgen.runtime.model:BaseModel",
            "model_cfg.model",
            name_key="model",
            builtin=("models",),
            project_folder="models",
            supplied=("cfgs", "is_training"),
        ),
        Kind(
            "loss",
            "losses",
            "gaitgen.runtime.losses.base:BaseLoss",
            "loss_cfg.type",
            builtin=("losses",),
            project_folder="losses",
            not_arguments=("log_prefix", "inputs_from"),
            dropped_section="loss_cfg",
        ),
        Kind(
            "backbone",
            "backbones",
            "gaitgen.runtime.modules.backbone:Backbone",
            "model_cfg.backbone_cfg.type",
            builtin=("modules",),
            project_folder="backbones",
        ),
        Kind(
            "sampler",
            "samplers",
            "torch.utils.data:Sampler",
            "trainer_cfg.sampler.type",
            builtin=("data",),
            project_folder="samplers",
            supplied=("dataset",),
        ),
        Kind(
            "transform",
            "transforms",
            "gaitgen.runtime.data.transform_base:SequenceTransform",
            "trainer_cfg.transform.type",
            builtin=("data",),
            project_folder="transforms",
            dropped_section="transform",
        ),
        Kind(
            "optimizer",
            "optimizers",
            "torch.optim:Optimizer",
            "optimizer_cfg.solver",
            name_key="solver",
            builtin=("optim",),
            library="torch",
            namespace="torch.optim",
            supplied=("params",),
            dropped_section="optimizer_cfg",
        ),
        Kind(
            "scheduler",
            "schedulers",
            "torch.optim.lr_scheduler:LRScheduler",
            "scheduler_cfg.scheduler",
            name_key="scheduler",
            builtin=("optim/lr_scheduler.py",),
            library="torch",
            namespace="torch.optim.lr_scheduler",
            supplied=("optimizer",),
            dropped_section="scheduler_cfg",
        ),
        Kind(
            "evaluation",
            "evaluations",
            "gaitgen.runtime.evaluation.functions:EvalFunction",
            "evaluator_cfg.eval_func",
            name_key="eval_func",
            table="gaitgen.runtime.evaluation.functions:EVAL_FUNCS",
            aliases="gaitgen.runtime.evaluation.functions:EVAL_FUNC_ALIASES",
        ),
        Kind(
            "protocol",
            "protocols",
            "gaitgen.runtime.evaluation.protocols:Protocol",
            "evaluator_cfg.protocol",
            name_key="protocol",
            table="gaitgen.runtime.evaluation.protocols:PROTOCOLS",
            aliases="gaitgen.runtime.evaluation.protocols:ALIASES",
            ignore_case=True,
        ),
        Kind(
            "generator",
            "generators",
            "gaitgen.runtime.synth.generator:DatasetGenerator",
            "data_cfg.synthetic.generator",
            name_key="generator",
            builtin=("synth", "tiny_data.py"),
            ignore_case=True,
        ),
    )
}


def kind_of(name: str, where: str = "kind") -> Kind:
    """The kind called ``name`` (its singular or plural: ``loss``, ``losses``).

    Raises:
        RegistryError: no kind has that name (the message lists them).
    """
    found = KINDS.get(name) or next((k for k in KINDS.values() if k.plural == name), None)
    if found is None:
        raise RegistryError(
            f"{where} {name!r} is not a kind{did_you_mean(str(name), KINDS)}; "
            f"kinds: {', '.join(KINDS)}"
        )
    return found
