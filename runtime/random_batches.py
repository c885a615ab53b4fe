"""Random batches of every modality a config reads, shaped as its loader would give them.

:mod:`gaitgen.runtime.testing` checks a model on random inputs. For a config on silhouettes
that is a batch of random binary frames; for a config on SynthGait's other modalities
(``data_cfg.synthetic.modalities``: pose, skeleton maps, parsing, SMPL) it is random raw
frames of each modality, in SynthGait's on-disk dtype and shape (see
:mod:`gaitgen.runtime.synth.writer`), run through the config's own transforms
(:func:`gaitgen.runtime.data.pipeline.pretreat_batch`), so the model sees what training and
testing feed it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .data.pipeline import pretreat_batch
from .data.transforms import get_transform
from .synth.spec import MODALITY_FILES, POSE_FORMATS, parse_modalities

# a pose's x, y in pixels of SynthGait's virtual 320x240 camera frame
_POSE_X, _POSE_Y = (100.0, 220.0), (20.0, 220.0)
_PARSING_LABELS = 12  # Gait3D-Parsing's labels 0..11


def config_modalities(cfgs: Mapping[str, Any]) -> tuple[str, ...]:
    """The modalities of a config's model inputs, in ``ipts`` order.

    SynthGait's (``data_cfg.synthetic.modalities``) in the sorted order of their files, those
    ``data_in_use`` drops left out; ``("silhouette",)`` for any other config.
    """
    data_cfg = cfgs.get("data_cfg") or {}
    synthetic = data_cfg.get("synthetic")
    if not isinstance(synthetic, Mapping) or not synthetic.get("modalities"):
        return ("silhouette",)
    names = sorted(parse_modalities(synthetic["modalities"]), key=MODALITY_FILES.__getitem__)
    in_use = data_cfg.get("data_in_use")
    if isinstance(in_use, list) and len(in_use) == len(names):
        names = [name for name, used in zip(names, in_use) if used]
    return tuple(names)


def pose_joints(cfgs: Mapping[str, Any]) -> int:
    """Joints per pose of the config's SynthGait data (17 for COCO, 18 for OpenPose)."""
    synthetic = (cfgs.get("data_cfg") or {}).get("synthetic") or {}
    return POSE_FORMATS.get(str(synthetic.get("pose_format", "coco")), POSE_FORMATS["coco"])


def raw_frames(modality: str, frames: int, joints: int, rng: np.random.Generator) -> np.ndarray:
    """``frames`` random frames of one modality, in SynthGait's dtype and shape."""
    if modality == "silhouette":
        return (rng.random((frames, 64, 64)) > 0.5).astype(np.uint8) * 255
    if modality == "skeleton":
        return rng.integers(0, 256, (frames, 2, 64, 64), dtype=np.uint8)
    if modality == "parsing":
        return rng.integers(0, _PARSING_LABELS, (frames, 64, 64), dtype=np.uint8)
    if modality == "smpl":
        return (rng.standard_normal((frames, 85)) * 0.3).astype(np.float32)
    if modality == "pose":
        x = rng.uniform(*_POSE_X, (frames, joints))
        y = rng.uniform(*_POSE_Y, (frames, joints))
        confidence = rng.uniform(0.3, 1.0, (frames, joints))
        return np.stack([x, y, confidence], axis=-1)  # float64 [t, V, 3]
    raise ValueError(f"no random frames for modality {modality!r}")


def modality_batch(
    cfgs: Mapping[str, Any],
    lengths: Sequence[int],
    labs: Sequence[int],
    *,
    training: bool,
    joined: bool,
    seed: int,
) -> list[Any]:
    """OpenGait's ``[ipts, labs, typs, viws, seqL]`` of random sequences of every modality.

    Args:
        cfgs: the resolved config: its modalities and its trainer's (``training``) or
            evaluator's transforms.
        lengths: frames per sequence.
        labs: the label index of each sequence.
        training: use ``trainer_cfg.transform`` (else ``evaluator_cfg.transform``).
        joined: join the sequences along the frames with ``seqL`` (else stack them; all
            ``lengths`` must then be equal).
        seed: seed of the random frames.
    """
    rng = np.random.default_rng(seed)
    joints = pose_joints(cfgs)
    section = "trainer_cfg" if training else "evaluator_cfg"
    seqs = []
    for modality in config_modalities(cfgs):
        rows = [raw_frames(modality, length, joints, rng) for length in lengths]
        seqs.append([np.concatenate(rows)] if joined else rows)
    n = len(lengths)
    seq_l = [list(lengths)] if joined else None
    where = f"{section}.transform"
    transforms = get_transform(cfgs[section].get("transform"), where)
    return pretreat_batch([seqs, list(labs), ["nm-01"] * n, ["090"] * n, seq_l], transforms, where)
