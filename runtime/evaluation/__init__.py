"""Evaluation: gait-recognition protocols, exact blocked distances, results and heatmaps.

    from gaitgen.runtime.evaluation import evaluate
    result = evaluate(feature, label, type, view, dataset_name="CASIA-B")
    print(result.format_table())
    result.save(run_dir)          # results.json + heatmap PNGs

``gaitgen evaluate EMBEDDINGS.npz`` runs the same on saved embeddings. One file per job:
``config.py`` (a config's settings), ``checks.py`` (input checks), ``distance.py``,
``ranking.py`` (per-probe ranking counts), ``tiling.py`` (block sizes and worker threads, also
used by ``search.py``), ``metrics.py`` (OpenGait's numbers), ``result.py``, with
``evaluator.py`` choosing probes and gallery and tying them together.
"""

from gaitgen.runtime.evaluation.config import evaluate_from_config, load_probe_set
from gaitgen.runtime.evaluation.embeddings import load_embeddings, save_embeddings
from gaitgen.runtime.evaluation.evaluator import evaluate
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
