"""Fill missing 2-D joints the way scikit-learn's ``KNNImputer`` does, in numpy.

OpenGait's skeleton-map recipe (``datasets/pretreatment_heatmap.py``, ``PadKeypoints``) runs
``KNNImputer(missing_values=0.0, n_neighbors=4, weights="distance")`` over the frames of one
sequence, each frame a row of its ``2 * V`` joint coordinates. This module computes the same
numbers without scikit-learn:

- a coordinate equal to 0 is missing (a visible joint at x = 0 counts as missing too);
- the distance between two frames is the nan-euclidean one: the squared euclidean distance
  over the coordinates both frames have, scaled by ``columns / coordinates present``
  (undefined when they share none);
- a missing coordinate of a frame is the distance-weighted mean of that coordinate in the 4
  nearest frames that have it (a donor at distance 0 takes all the weight); a frame that
  shares no coordinate with any donor gets the coordinate's mean over the frames that have it;
- a coordinate missing in every frame cannot be imputed: scikit-learn drops its column, the
  reshape back to ``[T, V, 2]`` fails, and OpenGait keeps the sequence as it was (zeros
  included). :func:`knn_fill` returns the input unchanged in that case.

The arithmetic follows scikit-learn's order of operations (the same matrix products, the same
``argpartition`` of the same rows, the same sums), so the results agree to the last bit on
the machines tried.
"""

from __future__ import annotations

import numpy as np

NEIGHBOURS = 4  # OpenGait's n_neighbors


def nan_euclidean(rows: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Nan-euclidean distances ``[len(rows), len(frames)]``, 0 marking a missing value.

    Args:
        rows: float64 ``[R, D]``.
        frames: float64 ``[T, D]``.

    Returns:
        float64 distances; NaN where a pair shares no present coordinate.
    """
    missing_r, missing_f = rows == 0, frames == 0
    r = np.where(missing_r, 0.0, rows)
    f = np.where(missing_f, 0.0, frames)
    squared = -2 * (r @ f.T)
    squared += np.einsum("ij,ij->i", r, r)[:, None]
    squared += np.einsum("ij,ij->i", f, f)[None, :]
    np.maximum(squared, 0, out=squared)
    squared -= np.dot(r * r, missing_f.T)
    squared -= np.dot(missing_r, (f * f).T)
    np.clip(squared, 0, None, out=squared)
    present = np.dot(1 - missing_r, (~missing_f).T)
    squared[present == 0] = np.nan
    np.maximum(1, present, out=present)
    squared /= present
    squared *= rows.shape[1]
    return np.sqrt(squared)


def _weighted_mean(distances: np.ndarray, donor_values: np.ndarray) -> np.ndarray:
    """Inverse-distance mean of the nearest donors, per receiving row.

    Args:
        distances: ``[R, N]`` from each receiver to each donor (NaN where undefined).
        donor_values: ``[N, C]`` the donors' values of the ``C`` columns being filled.

    Returns:
        ``[R, C]``.
    """
    k = min(NEIGHBOURS, distances.shape[1])
    nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
    near = np.take_along_axis(distances, nearest, axis=1)
    with np.errstate(divide="ignore"):
        weights = 1.0 / near
    exact = np.isinf(weights)
    exact_rows = exact.any(axis=1)
    weights[exact_rows] = exact[exact_rows]
    weights[np.isnan(weights)] = 0.0
    total = weights.sum(axis=1)
    values = donor_values[nearest]  # [R, k, C]
    return np.stack(
        [np.multiply(values[..., c], weights).sum(axis=1) / total for c in range(values.shape[2])],
        axis=1,
    )


def knn_fill(coordinates: np.ndarray) -> np.ndarray:
    """Impute the zero coordinates of ``[T, D]`` frames (see the module docstring).

    Args:
        coordinates: float64 ``[T, D]`` (a sequence's joints, ``D = 2 * V``).

    Returns:
        A new float64 ``[T, D]`` array; the input values unchanged if some coordinate is
        missing in every frame (OpenGait's fallback) or none is missing.
    """
    frames = np.array(coordinates, dtype=np.float64)
    missing = frames == 0
    if missing.all(axis=0).any() or not missing.any():
        return frames
    filled = frames.copy()
    receivers = np.flatnonzero(missing.any(axis=1))
    distances = nan_euclidean(frames[receivers], frames)  # [R, T]
    row_of = np.zeros(len(frames), dtype=np.int64)
    row_of[receivers] = np.arange(len(receivers))
    # columns with the same missing frames share donors and receivers: one selection each
    patterns, group_of = np.unique(missing.T, axis=0, return_inverse=True)
    for group, pattern in enumerate(patterns):
        if not pattern.any():
            continue
        columns = np.flatnonzero(group_of.reshape(-1) == group)
        takers = np.flatnonzero(pattern)
        donors = np.flatnonzero(~pattern)
        subset = distances[row_of[takers]][:, donors]
        lonely = np.isnan(subset).all(axis=1)
        if lonely.any():
            for column in columns:  # each mean summed as one contiguous column, as numpy.ma does
                kept = np.where(pattern, 0.0, frames[:, column])
                filled[takers[lonely], column] = kept.sum() * 1.0 / len(donors)
            takers, subset = takers[~lonely], subset[~lonely]
        if len(takers):
            values = _weighted_mean(subset, frames[np.ix_(donors, columns)])
            filled[np.ix_(takers, columns)] = values
    return filled
