"""Exact probe-gallery distances with OpenGait's definitions, computed tile by tile in torch.

OpenGait's ``cuda_dist`` on features ``[n, c, p]`` (``p`` horizontal parts):

- ``euc``: per part, ``sqrt(max(|x|^2 + |y|^2 - 2 x.y, 0))``, then the mean over parts;
- ``cos``: each part L2-normalised over ``c``, then ``1 - mean over parts of x.y``.

For ``euc`` the square root is per part, so the parts cannot be folded into one long dot
product; each tile is one batched matrix multiply over the parts (``baddbmm_`` into a buffer
holding ``|x|^2 + |y|^2``), a square root in place and a NaN-ignoring sum over parts
(a NaN there is the square root of a rounding-negative value, i.e. a clamped 0). ``cos`` is one plain matrix multiply over the flattened
``c * p`` dims. Features stay where they are (host memory or the GPU); only the rows a
block needs are gathered, so memory is bounded by the block sizes, not by ``N``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from gaitgen.runtime.errors import DataError

METRICS = ("euc", "cos")


def choose_device(feature: torch.Tensor, device: str | torch.device | None) -> torch.device:
    """The device to compute on: the given one, the features' GPU, any GPU, else the CPU."""
    if device is not None:
        return torch.device(device)
    if feature.is_cuda:
        return feature.device
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


@dataclass
class PreparedRows:
    """Rows of the feature matrix laid out for the tile kernel (on the compute device).

    For ``euc``: ``parts`` ``[p, n, c]`` and ``squared_norms`` ``[p, n]``; for ``cos``:
    ``flat`` ``[n, c * p]`` (parts normalised). ``positions`` holds row numbers into a
    precomputed matrix (re-ranked distances) instead: ``[n, 2]``, row as probe and as gallery.
    """

    parts: torch.Tensor | None = None
    squared_norms: torch.Tensor | None = None
    flat: torch.Tensor | None = None
    positions: torch.Tensor | None = None

    def __len__(self) -> int:
        for tensor, axis in ((self.parts, 1), (self.flat, 0), (self.positions, 0)):
            if tensor is not None:
                return tensor.shape[axis]
        return 0

    def slice(self, start: int, stop: int) -> PreparedRows:
        """Rows ``start:stop`` (views, no copy)."""
        return PreparedRows(
            parts=None if self.parts is None else self.parts[:, start:stop],
            squared_norms=None if self.squared_norms is None else self.squared_norms[:, start:stop],
            flat=None if self.flat is None else self.flat[start:stop],
            positions=None if self.positions is None else self.positions[start:stop],
        )


def _check_finite(norms: torch.Tensor) -> None:
    """NaN or inf in a feature makes its norm non-finite: one cheap check per block."""
    if not bool(torch.isfinite(norms).all()):
        raise DataError(
            "feature: contains NaN or infinite values (did training diverge?); "
            "evaluation needs finite embeddings"
        )


class FeatureDistances:
    """Distances between rows of a feature tensor ``[N, c, p]``.

    Args:
        feature: the features, on the CPU or a GPU; never copied as a whole.
        metric: ``"euc"`` or ``"cos"``.
        device: where tiles are computed.
    """

    def __init__(self, feature: torch.Tensor, metric: str, device: torch.device) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        self.feature = feature
        self.metric = metric
        self.device = device
        self.num_parts = feature.shape[2]
        self.scale = float(self.num_parts)  # tile() returns distances times this
        self._parts_tensor = torch.tensor(self.scale, device=device)

    def prepare(self, rows: torch.Tensor, pool=None, chunk: int = 1024) -> PreparedRows:
        """Gather ``rows`` (int64 indices into the features) and lay them out for tiles.

        With a :class:`~gaitgen.runtime.evaluation.ranking.WorkerPool`, chunks of rows are
        laid out in parallel, straight into the result (no extra copy).
        """
        n, channels = len(rows), self.feature.shape[1]
        if self.metric == "cos":
            prepared = PreparedRows(flat=torch.empty(n, channels * self.num_parts, device=self.device))  # fmt: skip
        else:
            prepared = PreparedRows(
                parts=torch.empty(self.num_parts, n, channels, device=self.device),
                squared_norms=torch.empty(self.num_parts, n, device=self.device),
            )

        def work(start: int) -> None:
            stop = min(start + chunk, n)
            index = rows[start:stop].to(self.feature.device)
            block = self.feature.index_select(0, index).to(self.device, torch.float32)  # [b, c, p]
            if self.metric == "cos":
                norms = block.norm(p=2, dim=1, keepdim=True)  # [b, 1, p]
                _check_finite(norms)
                normalised = block / norms.clamp_min(1e-12)  # F.normalize's definition
                prepared.flat[start:stop] = normalised.reshape(stop - start, -1)  # [b, c*p]
            else:
                parts = prepared.parts[:, start:stop]  # [p, b, c]
                parts.copy_(block.permute(2, 0, 1))
                squared_norms = prepared.squared_norms[:, start:stop]
                torch.sum(parts * parts, 2, out=squared_norms)
                _check_finite(squared_norms)

        if pool is None:
            for start in range(0, n, chunk):
                work(start)
        else:
            pool.run(work, range(0, n, chunk))
        return prepared

    def tile(self, probes: PreparedRows, gallery: PreparedRows) -> torch.Tensor:
        """Distances times :attr:`scale` (``p``), ``[len(probes), len(gallery)]``.

        Rankings only need the order, so the division by the number of parts is left out
        (one pass less over each tile); :meth:`matrix` returns true distances.
        """
        if self.metric == "cos":
            # p - sum over parts of x.y = p * (1 - mean similarity), in the multiply itself
            return torch.addmm(self._parts_tensor, probes.flat, gallery.flat.t(), alpha=-1.0)
        # [p, np, ng] = |x|^2 + |y|^2, then - 2 x.y inside the matrix multiply
        out = torch.add(probes.squared_norms.unsqueeze(2), gallery.squared_norms.unsqueeze(1))
        out.baddbmm_(probes.parts, gallery.parts.transpose(1, 2), alpha=-2.0)
        # sqrt of a rounding-negative value is NaN and nansum counts it as 0 = sqrt(max(v, 0)):
        # the clamp without its own pass over memory
        return torch.nansum(out.sqrt_(), 0)

    def matrix(self, rows_a: torch.Tensor, rows_b: torch.Tensor, block: int = 1024) -> torch.Tensor:
        """The full distance matrix ``[len(rows_a), len(rows_b)]`` (for small sets only)."""
        out = torch.empty(len(rows_a), len(rows_b), device=self.device)
        for i in range(0, len(rows_a), block):
            a = self.prepare(rows_a[i : i + block])
            for j in range(0, len(rows_b), block):
                out[i : i + block, j : j + block] = self.tile(
                    a, self.prepare(rows_b[j : j + block])
                )
        return out.div_(self.scale)


class MatrixDistances:
    """Distances looked up in a precomputed matrix (used after re-ranking).

    Args:
        matrix: ``[n_probe, n_gallery]`` distances.
        probe_rows: the feature row of each matrix row.
        gallery_rows: the feature row of each matrix column.
    """

    def __init__(
        self, matrix: torch.Tensor, probe_rows: torch.Tensor, gallery_rows: torch.Tensor
    ) -> None:
        self.matrix = matrix
        self.device = matrix.device
        self.scale = 1.0
        size = int(max(probe_rows.max(), gallery_rows.max())) + 1
        self._probe_position = torch.full((size,), -1, dtype=torch.long)
        self._probe_position[probe_rows] = torch.arange(len(probe_rows))
        self._gallery_position = torch.full((size,), -1, dtype=torch.long)
        self._gallery_position[gallery_rows] = torch.arange(len(gallery_rows))

    def prepare(self, rows: torch.Tensor, pool=None) -> PreparedRows:
        """Map feature rows to their matrix row (as probes) and column (as gallery)."""
        probe = self._probe_position[rows]
        gallery = self._gallery_position[rows]
        return PreparedRows(positions=torch.stack([probe, gallery], dim=1).to(self.device))

    def tile(self, probes: PreparedRows, gallery: PreparedRows) -> torch.Tensor:
        """The looked-up distances ``[len(probes), len(gallery)]``."""
        return self.matrix[probes.positions[:, 0]][:, gallery.positions[:, 1]]
