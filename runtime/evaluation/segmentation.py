"""``evaluate_segmentation``: the IoU of each frame's predicted silhouette with its mask.

As OpenGait's ``mean_iou`` computes it: the intersection is the sum of ``pred * mask`` (the
mask may be soft), the union the number of pixels where ``pred + mask > 0``, plus ``1e-9``; a
frame with neither is 0. The model thresholds its predictions (``Segmentation``: sigmoid
> 0.5) before they get here. OpenGait returns the per-frame values and logs their mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.evaluation.functions import SEGMENTATION, SEGMENTATION_ARRAYS, EvalFunction
from gaitgen.runtime.evaluation.inputs import EvalData, EvalSettings
from gaitgen.runtime.evaluation.result import EvaluationResult

EPS = 1.0e-9
# rows per block: bounds the float64 temporaries on a whole test set
_BLOCK = 4096


@dataclass
class SegmentationCondition:
    """Per-frame IoU of a test set.

    Attributes:
        iou: ``[frames]`` float32.
    """

    iou: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: the mean IoU (a fraction, as OpenGait logs it) and the frames."""
        return {"mIOU": round(float(self.iou.mean()), 6), "frames": int(len(self.iou))}

    def format_table(self) -> str:
        """One line: the mean over the frames (and the worst frame)."""
        return (
            f"mIOU {self.iou.mean():.3f} over {len(self.iou)} frames "
            f"(lowest frame {self.iou.min():.3f})"
        )


def mean_iou(pred: Any, mask: Any) -> Any:
    """``[frames]`` float32 IoU of ``pred`` and ``mask`` (``[frames, ...]`` each): numpy
    arrays give a numpy array, tensors a tensor on their device (what
    ``BinaryCrossEntropyLoss`` logs). Summed in float64, a block of frames at a time."""
    as_numpy = not isinstance(pred, torch.Tensor)
    pred = torch.as_tensor(pred)
    mask = torch.as_tensor(mask, device=pred.device)
    frames = pred.shape[0]
    pred, mask = pred.detach().reshape(frames, -1), mask.detach().reshape(frames, -1)
    iou = torch.empty(frames, dtype=torch.float32, device=pred.device)
    for start in range(0, frames, _BLOCK):  # blocks of frames, each vectorised
        p = pred[start : start + _BLOCK].double()
        m = mask[start : start + _BLOCK].double()
        union = ((p + m) > 0).sum(dim=1)
        iou[start : start + _BLOCK] = ((p * m).sum(dim=1) / (union + EPS)).float()
    return iou.cpu().numpy() if as_numpy else iou


def segmentation_arrays(data: EvalData, function: str) -> tuple[np.ndarray, np.ndarray]:
    """``pred`` and ``mask`` of ``data`` as numpy, checked to agree.

    Raises:
        DataError: one missing, or their shapes differ.
    """
    arrays = []
    for name in SEGMENTATION_ARRAYS:
        value = data.arrays.get(name)
        if value is None:
            raise DataError(
                f"{function}: no {name!r} array; it reads the model's inference_feat "
                f"{' and '.join(SEGMENTATION_ARRAYS)} ([frames, 1, H, W] each)"
            )
        if hasattr(value, "detach"):
            value = value.detach().float().cpu().numpy()
        arrays.append(np.asarray(value))
    pred, mask = arrays
    if pred.shape != mask.shape or pred.ndim < 2 or len(pred) == 0:
        raise DataError(
            f"{function}: 'pred' {list(pred.shape)} and 'mask' {list(mask.shape)} must be "
            "one non-empty [frames, 1, H, W] shape"
        )
    return pred, mask


def run_segmentation(
    data: EvalData, dataset: str | None, settings: EvalSettings, function: EvalFunction
) -> EvaluationResult:
    """OpenGait's ``evaluate_segmentation``: the per-frame IoU under
    ``scalar/test_accuracy/mIOU``."""
    pred, mask = segmentation_arrays(data, function.name)
    iou = mean_iou(pred, mask)
    result = EvaluationResult(
        protocol=dataset or "segmentation",
        metric="IoU of the thresholded prediction",
        kind=SEGMENTATION,
        conditions={"segmentation": SegmentationCondition(iou)},
    )
    result.opengait = {"scalar/test_accuracy/mIOU": iou}
    return result
