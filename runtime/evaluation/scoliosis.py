"""``evaluate_scoliosis``: a three-class screener's accuracy and macro precision/recall/F1.

ScoNet's test-phase embeddings are its class logits ``[N, 3, p]``; the class of a sequence is
the argmax of the logits averaged over the parts, and its true class is its type
(``negative``, ``neutral``, ``positive``: lowercase, as OpenGait's function maps them). The
macro averages run over the classes that occur among the true or the predicted classes, and a
class with no prediction (or no sequence) counts 0, as scikit-learn's with
``zero_division=0`` (what OpenGait calls); computed here with numpy alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.evaluation.functions import EvalFunction
from gaitgen.runtime.evaluation.inputs import EvalData, EvalSettings
from gaitgen.runtime.evaluation.result import EvaluationResult

# OpenGait's label map: negative -> 0, neutral -> 1, positive -> 2
SCOLIOSIS_CLASSES = ("negative", "neutral", "positive")
CLASSIFICATION = "classification"


@dataclass
class ClassificationCondition:
    """A classifier's results on one test set.

    Attributes:
        classes: the class names, in label order.
        confusion: ``[classes, classes]`` counts, rows the true class, columns the predicted.
        accuracy, precision, recall, f1: fractions in [0, 1] (precision, recall and F1 are
            macro averages).
    """

    classes: tuple[str, ...]
    confusion: np.ndarray
    accuracy: float
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: the four figures as percentages and the confusion matrix."""
        return {
            "accuracy": round(self.accuracy * 100, 6),
            "precision": round(self.precision * 100, 6),
            "recall": round(self.recall * 100, 6),
            "f1": round(self.f1 * 100, 6),
            "classes": list(self.classes),
            "confusion": {
                true: {pred: int(self.confusion[i, j]) for j, pred in enumerate(self.classes)}
                for i, true in enumerate(self.classes)
            },
        }

    def format_table(self) -> str:
        """The figures (percentages) and the confusion matrix, rows the true class."""
        figures = [
            f"accuracy {self.accuracy * 100:.2f}  precision {self.precision * 100:.2f}  "
            f"recall {self.recall * 100:.2f}  F1 {self.f1 * 100:.2f} (macro, percentages)"
        ]
        width = max(9, *(len(c) for c in self.classes)) + 1
        corner = "true \\ predicted"
        figures.append(f"{corner:<18}" + "".join(f"{c:>{width}}" for c in self.classes))
        for i, true in enumerate(self.classes):
            cells = "".join(f"{int(n):>{width}}" for n in self.confusion[i])
            figures.append(f"{true:<18}" + cells)
        return "\n".join(figures)


def class_ids(types: np.ndarray, classes: tuple[str, ...], function: str) -> np.ndarray:
    """The class index of each sequence from its type.

    Raises:
        DataError: a type that is no class, naming it (and how many sequences carry it) and
            the accepted ones.
    """
    types = np.asarray(types, dtype=str)
    ids = np.full(len(types), -1, dtype=np.int64)
    for index, name in enumerate(classes):
        ids[types == name] = index
    if (ids < 0).any():
        unknown, counts = np.unique(types[ids < 0], return_counts=True)
        shown = ", ".join(f"{str(name)!r} ({n} sequences)" for name, n in zip(unknown[:5], counts))
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise DataError(
            f"{function}: the sequence type is the class, one of "
            f"{', '.join(repr(c) for c in classes)} (lowercase, as OpenGait maps them); got "
            f"{shown}{more}: name the type folders so (rename e.g. 'Positive' to 'positive')"
        )
    return ids


def macro_scores(confusion: np.ndarray) -> tuple[float, float, float, float]:
    """``(accuracy, precision, recall, f1)`` of a confusion matrix (rows true, columns
    predicted): macro averages over the classes that occur as a true or a predicted class,
    0 where a class's denominator is 0 (scikit-learn's ``zero_division=0``)."""
    confusion = confusion.astype(np.float64)
    true_positive = np.diag(confusion)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    present = (predicted + actual) > 0

    def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        safe = np.where(denominator > 0, denominator, 1.0)
        return np.where(denominator > 0, numerator / safe, 0.0)

    precision = ratio(true_positive, predicted)
    recall = ratio(true_positive, actual)
    f1 = ratio(2 * true_positive, predicted + actual)  # = 2PR/(P+R), 0 when both are 0
    accuracy = float(true_positive.sum() / confusion.sum())
    return (
        accuracy,
        float(precision[present].mean()),
        float(recall[present].mean()),
        float(f1[present].mean()),
    )


def logits_of(feature: Any, classes: int, function: str) -> np.ndarray:
    """``feature`` as ``[N, classes, p]`` numpy logits.

    Raises:
        DataError: another shape, naming the one it got.
    """
    if hasattr(feature, "detach"):
        feature = feature.detach().float().cpu().numpy()
    logits = np.asarray(feature)
    if logits.ndim != 3 or logits.shape[1] != classes:
        raise DataError(
            f"{function}: reads a classifier's logits [N, {classes}, p] as the features "
            f"(ScoNet's test-phase embeddings), got shape {list(logits.shape)}"
        )
    if len(logits) == 0:
        raise DataError(f"{function}: no sequences to evaluate (the test set is empty)")
    return logits


def run_scoliosis(
    data: EvalData, dataset: str | None, settings: EvalSettings, function: EvalFunction
) -> EvaluationResult:
    """Scoliosis screening figures (OpenGait's ``evaluate_scoliosis``; the metric is taken
    and unused, as there)."""
    classes = SCOLIOSIS_CLASSES
    logits = logits_of(data.feature, len(classes), function.name)
    if len(data.type) != len(logits):
        raise DataError(
            f"{function.name}: {len(data.type)} sequence types for {len(logits)} logits rows"
        )
    true_ids = class_ids(data.type, classes, function.name)
    predicted_ids = logits.mean(axis=-1).argmax(axis=-1)
    confusion = np.bincount(
        true_ids * len(classes) + predicted_ids, minlength=len(classes) ** 2
    ).reshape(len(classes), len(classes))
    accuracy, precision, recall, f1 = macro_scores(confusion)
    condition = ClassificationCondition(classes, confusion, accuracy, precision, recall, f1)
    result = EvaluationResult(
        protocol=dataset or "scoliosis",
        metric="argmax of the part-averaged logits",
        kind=CLASSIFICATION,
        conditions={"scoliosis": condition},
    )
    result.opengait = {
        "scalar/test_accuracy/": accuracy,
        "scalar/test_precision/": precision,
        "scalar/test_recall/": recall,
        "scalar/test_f1/": f1,
    }
    return result
