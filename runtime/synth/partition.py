"""The train/test split of a SynthGait dataset (imports nothing heavy: the code generator uses it).

CASIA-B's protocol trains on the first identities and tests on the rest; SynthGait keeps
that shape with about 60% of the identities in training.
"""

from __future__ import annotations

#: share of identities that go to TRAIN_SET
TRAIN_FRACTION = 0.6


def train_subject_count(subjects: int) -> int:
    """Return how many identities a ``subjects``-identity SynthGait dataset trains on.

    This is ``round(0.6 * subjects)`` (at least 1): the ``class_num`` a classifier head
    needs. ``0.6 * n`` is never exactly halfway between two integers for an integer ``n``,
    so Python's rounding of ties does not matter here.
    """
    if subjects < 1:
        raise ValueError(f"subjects must be >= 1, got {subjects}")
    return max(1, round(TRAIN_FRACTION * subjects))
