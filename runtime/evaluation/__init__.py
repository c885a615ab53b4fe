"""Evaluation: gait-recognition protocols, exact blocked distances, results and heatmaps.

    from gaitgen.runtime.evaluation import evaluate
    result = evaluate(feature, label, type, view, dataset_name="CASIA-B")
    print(result.format_table())
    result.save(run_dir)          # results.json + heatmap PNGs

See DESIGN.md section 7. ``gaitgen evaluate EMBEDDINGS.npz`` runs the same on saved
embeddings.
"""

from gaitgen.runtime.evaluation.embeddings import load_embeddings, save_embeddings
from gaitgen.runtime.evaluation.evaluator import evaluate, evaluate_from_config, load_probe_set
from gaitgen.runtime.evaluation.protocols import PROTOCOLS, Protocol, get_protocol
from gaitgen.runtime.evaluation.result import EvaluationResult

__all__ = [
    "PROTOCOLS",
    "EvaluationResult",
    "Protocol",
    "evaluate",
    "evaluate_from_config",
    "get_protocol",
    "load_embeddings",
    "load_probe_set",
    "save_embeddings",
]
