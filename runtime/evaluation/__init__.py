"""Evaluation: gait-recognition protocols, exact blocked distances, results and heatmaps.

    from gaitgen.runtime.evaluation import evaluate
    result = evaluate(feature, label, type, view, dataset_name="CASIA-B")
    print(result.format_table())
    result.save(run_dir)          # results.json + heatmap PNGs

``evaluate_function("evaluate_CCPG", data, "CCPG", settings)`` runs one of OpenGait's
evaluation functions by name (the table is :mod:`.functions`), with OpenGait's returned dict
in ``result.opengait``. ``gaitgen evaluate EMBEDDINGS.npz`` runs the same on saved embeddings. The names below are
imported on first use, so the protocol presets (``protocols.py``, data only) can be read,
e.g. by ``gaitgen list protocol``, without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    "load_embeddings": ".embeddings",
    "save_embeddings": ".embeddings",
    "evaluate": ".evaluator",
    "evaluate_from_config": ".config",
    "load_partition": ".inputs",
    "EvalData": ".inputs",
    "EvalSettings": ".inputs",
    "EVAL_FUNCS": ".functions",
    "EvalFunction": ".functions",
    "evaluate_function": ".dispatch",
    "PROTOCOLS": ".protocols",
    "Protocol": ".protocols",
    "get_protocol": ".protocols",
    "EvaluationResult": ".result",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .config import evaluate_from_config
    from .dispatch import evaluate_function
    from .embeddings import load_embeddings, save_embeddings
    from .evaluator import evaluate
    from .functions import EVAL_FUNCS, EvalFunction
    from .inputs import EvalData, EvalSettings, load_partition
    from .protocols import PROTOCOLS, Protocol, get_protocol
    from .result import EvaluationResult
