"""The evaluation functions, by OpenGait's names: what each reads, accepts and returns.

A config names one as ``evaluator_cfg.eval_func`` and ``gaitgen evaluate --protocol`` takes
the same names. Each entry is data (this module imports nothing heavy, so ``gaitgen list
evaluation`` stays fast); the code that computes it is ``run``, the dotted path of a function taking
``(data, dataset, settings, function)`` (an :class:`~.inputs.EvalData`, the dataset's
name, an :class:`~.inputs.EvalSettings` and this entry) and returning an :class:`~.result.EvaluationResult` whose
``opengait`` holds the dict OpenGait's function of that name returns, so logs and tools
written for OpenGait read gaitgen's results. :func:`~.dispatch.evaluate_function` is the one
place that looks an entry up, checks what it is given and calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

EMBEDDINGS = "embeddings"  # feature [N, c, p] + label/type/view
SEGMENTATION = "segmentation"  # pred + mask [frames, 1, H, W]

OPTIONS = ("metric", "cross_view", "rerank", "probe_set")


@dataclass(frozen=True)
class EvalFunction:
    """One evaluation function.

    Attributes:
        name: OpenGait's function name (``evaluate_CCPG``).
        summary: one line for ``gaitgen list evaluation`` and messages.
        run: the dotted path of the function computing it.
        inputs: what it reads: ``"embeddings"`` (``feature``, ``label``, ``type``, ``view``;
            a classifier's logits travel as ``feature``) or ``"segmentation"``
            (``pred``, ``mask``).
        options: the settings it takes, of :data:`OPTIONS`; any other given is refused.
        datasets: the dataset names it accepts (``None``: any; an identification function
            checks the dataset against its protocol presets instead).
        protocol_kind: for an identification function evaluated through
            :func:`~.evaluator.evaluate`: the kind of preset it takes (``"view"``,
            ``"real_scene"``; ``"any"``); ``None`` for the others.
        preset: the protocol preset it always evaluates (``evaluate_Gait3D``: ``Gait3D``),
            whatever the dataset is called; ``None``: the dataset's preset.
        partition_key: the key of the partition file it reads (``PROBE_SET``,
            ``GALLERY_SET``), or ``None``.
        writes: the folder a submission file is written to (``GREW_result``), or ``None``.
        defaults: ``(setting, value)`` pairs where OpenGait's function defaults a setting
            otherwise than gaitgen does (``HID_submission``: ``rerank`` True); a config
            that leaves the setting out gets OpenGait's value (``gaitgen evaluate``'s flags
            keep their own default: off unless given).
    """

    name: str
    summary: str
    run: str
    inputs: str = EMBEDDINGS
    options: tuple[str, ...] = ("metric",)
    datasets: tuple[str, ...] | None = None
    protocol_kind: str | None = None
    preset: str | None = None
    partition_key: str | None = None
    writes: str | None = None
    defaults: tuple[tuple[str, object], ...] = ()


_ID = "gaitgen.runtime.evaluation.identification."
_RUN = "gaitgen.runtime.evaluation."

EVAL_FUNCS: dict[str, EvalFunction] = {
    f.name: f
    for f in (
        EvalFunction(
            "identification",
            "gaitgen's default: the dataset's protocol preset (or evaluator_cfg.protocol)",
            _ID + "run_identification",
            options=("metric", "cross_view", "rerank", "probe_set"),
            protocol_kind="any",
        ),
        EvalFunction(
            "evaluate_indoor_dataset",
            "rank-1 per view, single- or cross-view gallery (CASIA-B, OU-MVLP, CASIA-E, "
            "SUSTech1K)",
            _ID + "run_identification",
            options=("metric", "cross_view", "rerank"),
            protocol_kind="view",
        ),
        EvalFunction(
            "evaluate_real_scene",
            "rank-1/5 of one probe set against one gallery (GREW, HID2021, TTG-200, ...)",
            _ID + "run_identification",
            options=("metric", "rerank"),
            protocol_kind="real_scene",
        ),
        EvalFunction(
            "evaluate_Gait3D",
            "rank-1/5/10, mAP, mINP; probes from the partition's PROBE_SET",
            _ID + "run_identification",
            options=("metric", "rerank", "probe_set"),
            protocol_kind="real_scene",
            preset="Gait3D",
            partition_key="PROBE_SET",
        ),
        EvalFunction(
            "evaluate_FreeGait",
            "rank-1/5/10, mAP, mINP; probes from the partition's PROBE_SET",
            _ID + "run_identification",
            options=("metric", "rerank", "probe_set"),
            protocol_kind="real_scene",
            preset="FreeGait",
            partition_key="PROBE_SET",
        ),
        EvalFunction(
            "evaluate_CCGR_MINI",
            "rank-1/5/10, mAP, mINP; gallery from the partition's GALLERY_SET, the rest probes",
            _ID + "run_identification",
            options=("metric", "rerank", "probe_set"),
            protocol_kind="real_scene",
            preset="CCGR-MINI",
            partition_key="GALLERY_SET",
        ),
        EvalFunction(
            "evaluate_CCPG",
            "CL/UP/DN/BG: rank-1, mAP, mINP (re-identification) and a rank-1 per-view matrix",
            _RUN + "ccpg.run_ccpg",
            datasets=("CCPG",),
        ),
        EvalFunction(
            "GREW_submission",
            "the CSV GREW's server scores: top-20 subject ids of each '03' probe (gallery 01+02)",
            _RUN + "grew.run_grew_submission",
            datasets=("GREW",),
            writes="GREW_result",
        ),
        EvalFunction(
            "GREW_ranks",
            "gaitgen's own: rank-1/5/10/20 of GREW_submission's ranking, on a split whose "
            "'03' probes carry their true ids",
            _RUN + "grew.run_grew_ranks",
            datasets=("GREW",),
        ),
        EvalFunction(
            "HID_submission",
            "the CSV HID's server scores: the top-1 subject of each probe (label 'probe')",
            _RUN + "hid.run_hid_submission",
            options=("metric", "rerank"),
            datasets=("HID",),
            writes="HID_result",
            defaults=(("rerank", True),),
        ),
    )
}

# names OpenGait used before, and gaitgen's own, for an entry above
EVAL_FUNC_ALIASES: dict[str, str] = {"identification_real_scene": "evaluate_real_scene"}


def default_function(protocol_kind: str, probe_set: bool = False) -> str:
    """The OpenGait function a preset of ``protocol_kind`` is evaluated by (``gaitgen
    evaluate --protocol CASIA-B`` means ``evaluate_indoor_dataset`` on CASIA-B)."""
    if protocol_kind == "view":
        return "evaluate_indoor_dataset"
    return "evaluate_Gait3D" if probe_set else "evaluate_real_scene"
