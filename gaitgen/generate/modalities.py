"""The body representations a generated model can read (``--modality`` of new-model and init).

One table: for each choice, the SynthGait modalities its config asks for
(``data_cfg.synthetic.modalities``), the model template that renders its network, and the
class name ``gaitgen init --modality`` gives the project's starter model. The image
modalities share one template (``model.py.jinja``: a per-frame CNN whose input stem the
modality switches); 2-D pose has its own (``model_pose.py.jinja``: a graph network over the
joints), because its forward has nothing in common with an image network's. The config
template (``config.yaml.jinja``) switches the model_cfg and transforms on the same name.
"""

from __future__ import annotations

from dataclasses import dataclass

from gaitgen.runtime.errors import GenerateError


@dataclass(frozen=True)
class Modality:
    """One ``--modality`` choice.

    Attributes:
        name: the choice as the user types it.
        synth: SynthGait's modalities the config generates, in ``gaitgen synth
            --modalities`` spelling (the files are read in sorted order: see
            runtime/synth/writer.py).
        template: the model template.
        starter: the class name of ``gaitgen init --modality``'s starter model.
        summary: what the model reads, for docstrings and messages.
    """

    name: str
    synth: tuple[str, ...]
    template: str
    starter: str
    summary: str


IMAGE_TEMPLATE = "model.py.jinja"
POSE_TEMPLATE = "model_pose.py.jinja"

MODALITIES: dict[str, Modality] = {
    m.name: m
    for m in (
        Modality("silhouette", ("silhouette",), IMAGE_TEMPLATE, "Baseline", "silhouettes"),
        Modality("pose", ("pose",), POSE_TEMPLATE, "PoseGraphGait", "2-D poses (COCO-17 joints)"),
        Modality("skeleton", ("skeleton",), IMAGE_TEMPLATE, "SkeletonMapGait", "skeleton maps"),
        Modality("parsing", ("parsing",), IMAGE_TEMPLATE, "ParsingMapGait", "human parsing maps"),
        Modality(
            "smpl", ("silhouette", "smpl"), IMAGE_TEMPLATE, "SilSMPLGait", "silhouettes and SMPL"
        ),
        Modality(
            "silhouette+skeleton",
            ("silhouette", "skeleton"),
            IMAGE_TEMPLATE,
            "SilSkeletonGait",
            "silhouettes and skeleton maps",
        ),
    )
}
DEFAULT_MODALITY = "silhouette"


def check_modality(name: str, option: str = "--modality") -> Modality:
    """The :class:`Modality` called ``name``.

    Raises:
        GenerateError: no such choice; the one line lists them.
    """
    if name not in MODALITIES:
        raise GenerateError(
            f"{option} {name!r} is not a body representation gaitgen generates; choose one "
            f"of: {', '.join(MODALITIES)}"
        )
    return MODALITIES[name]
