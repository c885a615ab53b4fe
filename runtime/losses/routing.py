"""The loss-routing rule: which ``training_feat`` entry feeds which ``loss_cfg`` entry.

One rule for every model (generated, built-in, ``--from``, ported): each key of the model's
``training_feat`` is the ``log_prefix`` of a ``loss_cfg`` entry, and its value holds the keyword
arguments of that loss's ``forward``. An entry with ``inputs_from: <another log_prefix>``
takes the arguments the model returned under that other prefix instead, so a new loss joins
any model by a config edit alone::

    loss_cfg:
      - {type: TripletLoss, log_prefix: triplet, margin: 0.2}
      - {type: MyLoss, log_prefix: myloss, inputs_from: triplet}  # gets triplet's arguments

``inputs_from`` names an entry the model feeds itself: not the entry's own prefix, not an
entry that has an ``inputs_from`` of its own. This module holds the rule's config half
(torch-free, so the config check at load can use it); the LossAggregator
(:mod:`.aggregator`) applies it to the tensors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

INPUTS_FROM = "inputs_from"


def log_prefix(entry: Mapping[str, Any]) -> Any:
    """An entry's ``log_prefix``; OpenGait's default is the loss's ``type``."""
    return entry.get("log_prefix", entry.get("type"))


def inputs_from_problem(entries: Sequence[Any]) -> tuple[int, str] | None:
    """The first ``loss_cfg`` entry whose ``inputs_from`` cannot be followed, and why.

    Args:
        entries: the ``loss_cfg`` entries (mappings; anything else is skipped).

    Returns:
        ``(index, message)``, the message saying what is wrong and what to do, or None.
    """
    mappings = {i: entry for i, entry in enumerate(entries) if isinstance(entry, Mapping)}
    prefixes = [log_prefix(entry) for entry in mappings.values()]
    borrowing = {
        log_prefix(entry): index for index, entry in mappings.items() if INPUTS_FROM in entry
    }
    for index, entry in mappings.items():
        if INPUTS_FROM not in entry:
            continue
        source = entry[INPUTS_FROM]
        own = log_prefix(entry)
        if source == own:
            return index, (
                f"{source!r} is this entry's own log_prefix; name the log_prefix of the loss "
                "whose arguments it should take (e.g. triplet)"
            )
        if source not in prefixes:
            return index, (
                f"{source!r} is not the log_prefix of another loss_cfg entry; the configured "
                f"log_prefix values are {prefixes}"
            )
        if source in borrowing:
            upstream = mappings[borrowing[source]][INPUTS_FROM]
            return index, (
                f"{source!r} (loss_cfg[{borrowing[source]}]) takes its own arguments from "
                f"{upstream!r}; inputs_from must name an entry the model feeds itself, not a "
                "chain of them"
            )
    return None
