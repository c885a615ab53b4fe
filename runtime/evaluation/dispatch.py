"""The one way an evaluation function is chosen, checked and run.

    result = evaluate_function("evaluate_CCPG", data, "CCPG", EvalSettings(metric="cos"))
    result.opengait      # the dict OpenGait's evaluate_CCPG returns

``gaitgen test`` (through :func:`~.config.evaluate_from_config`) and ``gaitgen evaluate``
both come here; :func:`choose_function` turns what a user typed (an OpenGait function name,
a protocol preset, or nothing) into a function and a dataset.
"""

from __future__ import annotations

from typing import Any

from gaitgen.runtime.components import get
from gaitgen.runtime.components.lookup import import_dotted
from gaitgen.runtime.errors import ConfigError, RegistryError, did_you_mean
from gaitgen.runtime.evaluation.functions import EVAL_FUNCS, EvalFunction, default_function
from gaitgen.runtime.evaluation.inputs import EvalData, EvalSettings
from gaitgen.runtime.evaluation.protocols import PROTOCOLS
from gaitgen.runtime.evaluation.result import EvaluationResult

_OPTION_FLAGS = {
    "metric": "metric",
    "cross_view": "cross_view_gallery",
    "rerank": "rerank",
    "probe_set": "probe_set",
}


def get_function(name: str, where: str = "evaluator_cfg.eval_func") -> EvalFunction:
    """The evaluation function called ``name`` (OpenGait's name, or an alias).

    Raises:
        RegistryError: no function has that name; the message lists the close matches.
    """
    return get("evaluation", name, where=where)


def choose_function(
    protocol: str | None, dataset: str | None, where: str = "--protocol"
) -> tuple[EvalFunction, str | None, str | None]:
    """``(function, dataset, preset)`` for what a user named.

    ``protocol`` is an evaluation function (``evaluate_CCPG``), a protocol preset
    (``CASIA-B``: evaluated by OpenGait's function for its kind, on that preset), or
    ``None`` (the default function, on the dataset's preset). ``preset`` is the preset name
    when one was named.

    Raises:
        RegistryError: ``protocol`` names neither; the message lists both kinds of name.
    """
    if protocol is None:
        return EVAL_FUNCS["identification"], dataset, None
    try:
        return get_function(protocol, where), dataset, None
    except RegistryError:
        pass
    try:
        preset = get("protocol", protocol, where=where)
    except RegistryError:
        presets = sorted(PROTOCOLS)
        raise RegistryError(
            f"{where}: {protocol!r} is neither a protocol preset nor an evaluation function"
            f"{did_you_mean(protocol, [*presets, *EVAL_FUNCS])}; presets: {', '.join(presets)}; "
            f"functions: {', '.join(EVAL_FUNCS)} (gaitgen list evaluation)"
        ) from None
    function = EVAL_FUNCS[default_function(preset.kind, preset.probe_set)]
    return function, dataset or preset.name, preset.name


def check_settings(function: EvalFunction, settings: EvalSettings, where: str) -> None:
    """Refuse an option the function does not take (OpenGait's would raise TypeError)."""
    for option in settings.given:
        if option not in function.options:
            takes = ", ".join(_OPTION_FLAGS[o] for o in function.options) or "no options"
            raise ConfigError(
                f"{where}: {function.name} takes no {_OPTION_FLAGS.get(option, option)} "
                f"setting (it takes {takes}); remove it"
            )


def check_dataset(function: EvalFunction, dataset: str | None, where: str) -> None:
    """Refuse a dataset the function does not evaluate (OpenGait's raises KeyError)."""
    if function.datasets is not None and dataset not in function.datasets:
        raise ConfigError(
            f"{where}: {function.name} evaluates {', '.join(function.datasets)}, "
            f"not {dataset!r}; set the dataset name (data_cfg.test_dataset_name, "
            "or gaitgen evaluate --dataset)"
        )


def evaluate_function(
    name: str | EvalFunction,
    data: EvalData,
    dataset: str | None,
    settings: EvalSettings | None = None,
    where: str = "evaluator_cfg.eval_func",
) -> EvaluationResult:
    """Run the evaluation function ``name`` on a test set's outputs.

    Args:
        name: OpenGait's function name (or the entry itself).
        data: the test set's outputs.
        dataset: the dataset's name (OpenGait's second argument: ``CASIA-B``, ``GREW``).
        settings: metric, gallery, re-ranking, partition, output folder.
        where: the config key or option that named it, for messages.

    Raises:
        ConfigError: a dataset or option the function does not take.
        DataError: inputs it cannot evaluate (each function says which).
    """
    function = name if isinstance(name, EvalFunction) else get_function(name, where)
    settings = settings or EvalSettings()
    check_settings(function, settings, where)
    check_dataset(function, dataset, where)
    run: Any = import_dotted(function.run, f"{where}: {function.name}")
    result = run(data, dataset, settings, function)
    result.function = function.name
    result.dataset = dataset
    return result
