"""What a resume may not change: the settings that make a run the run it is.

A run resumed with a ``--set`` (or an edited config) that changes its model, its batch or its
frames would go on as another experiment under the first one's name, and its numbers would be
reported as the first one's. Before a resume, the trainer compares the config it is given
with the one the run recorded at its last start (:meth:`.run_folder.RunFolder.recorded_config`)
on :data:`DEFINING`; a difference is refused, or with ``--force`` accepted and written at the
top of that start's ``config-<iteration>.yaml``. Everything else (``total_iter``, the saving
and logging intervals, the learning-rate schedule, the evaluator) may change on a resume.

    changes = changed_settings(recorded, cfgs)
    describe(changes)   # "trainer_cfg.sampler.batch_size: [2, 2] -> [4, 2]"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFINING = (
    "model_cfg",
    "trainer_cfg.sampler",
    "data_cfg.dataset_name",
    "optimizer_cfg.solver",
)
"""The dotted keys (whole sections or single values) that a resume must keep."""


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


_MISSING = _Missing()


def _leaves(value: Any, prefix: str) -> dict[str, Any]:
    """``{dotted key: value}`` of every non-mapping value under ``prefix``."""
    if not isinstance(value, Mapping):
        return {prefix: value}
    found: dict[str, Any] = {}
    for key, item in value.items():
        found.update(_leaves(item, f"{prefix}.{key}"))
    return found


def _at(cfgs: Mapping[str, Any], dotted: str) -> Any:
    node: Any = cfgs
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def changed_settings(
    recorded: Mapping[str, Any], current: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """``(key, recorded value, current value)`` for each :data:`DEFINING` value that differs.

    Both configs are compared as YAML gives them back (``current`` is a resolved config whose
    paths and tuples the run folder stored as strings and lists).
    """
    from ..config import dump_config, yaml_load

    current = yaml_load(dump_config(current))
    changes = []
    for dotted in DEFINING:
        before, after = _leaves(_at(recorded, dotted), dotted), _leaves(
            _at(current, dotted), dotted
        )
        for key in sorted(before.keys() | after.keys()):
            old, new = before.get(key, _MISSING), after.get(key, _MISSING)
            if old != new:
                changes.append((key, old, new))
    return changes


def describe(changes: list[tuple[str, Any, Any]], limit: int = 4) -> str:
    """``key: old -> new; ...`` (the first ``limit``, then how many more)."""
    shown = [f"{key}: {old!r} -> {new!r}" for key, old, new in changes[:limit]]
    if len(changes) > limit:
        shown.append(f"and {len(changes) - limit} more")
    return "; ".join(shown)
