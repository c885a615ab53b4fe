"""Exact probe-gallery distances with OpenGait's definitions, computed tile by tile in torch.

OpenGait's ``cuda_dist`` on features ``[n, c, p]`` (``p`` horizontal parts):

- ``euc``: per part, ``sqrt(max(|x|^2 + |y|^2 - 2 x.y, 0))``, then the mean over parts;
- ``cos``: each part L2-normalised over ``c``, then ``1 - mean over parts of x.y``.

For ``euc`` the square root is per part, so the parts cannot be folded into one long dot
product; each tile is one batched matrix multiply over the parts, a square root in place and
a NaN-ignoring sum over parts (a NaN there is the square root of a rounding-negative value,
i.e. a clamped 0). The squared norms ride inside the multiply: a probe part ``x`` is laid
out as ``[x, |x|^2, 1]`` and a gallery part ``y`` as ``[y, -1/2, -|y|^2/2]``, so ``-2`` times
their dot product is ``|x|^2 + |y|^2 - 2 x.y`` (no pass over the tile to add them). Rows are
laid out ``[n, p, c + 2]`` (one cheap transposition per row); the per-part matrices are
strided views of it, which the batched multiply reads directly. ``cos`` is one plain matrix multiply over the
flattened ``c * p`` dims. Features stay where they are (host memory or the GPU); only the
rows a block needs are gathered, so memory is bounded by the block sizes, not by ``N``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.evaluation.tiling import spans

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

    For ``euc``: ``parts`` ``[n, p, c + 2]``, each part followed by its squared norm and 1
    (probes) or by -1/2 and minus half its squared norm (gallery); for ``cos``: ``flat``
    ``[n, c * p]`` (parts normalised). ``positions`` holds row numbers into a precomputed
    matrix (re-ranked distances) instead: ``[n, 2]``, row as probe and as gallery.
    """

    parts: torch.Tensor | None = None
    flat: torch.Tensor | None = None
    positions: torch.Tensor | None = None

    def __len__(self) -> int:
        for tensor in (self.parts, self.flat, self.positions):
            if tensor is not None:
                return tensor.shape[0]
        return 0

    def slice(self, start: int, stop: int) -> PreparedRows:
        """Rows ``start:stop`` (views, no copy)."""
        return PreparedRows(
            parts=None if self.parts is None else self.parts[start:stop],
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
        # euc tiles are sums of square roots: never negative, never -0.0 (see ranking.py)
        self.nonnegative = metric == "euc"
        self._parts_tensor = torch.tensor(self.scale, device=device)

    def prepare(
        self, rows: torch.Tensor, pool=None, chunk: int = 128, *, gallery: bool = False
    ) -> PreparedRows:
        """Gather ``rows`` (int64 indices into the features) and lay them out for tiles, as
        probes (the first argument of :meth:`tile`) or as ``gallery`` (the second).

        With a :class:`~gaitgen.runtime.evaluation.tiling.WorkerPool`, chunks of rows are
        laid out in parallel, straight into the result (no extra copy).
        """
        n, channels = len(rows), self.feature.shape[1]
        if self.metric == "cos":
            prepared = PreparedRows(flat=torch.empty(n, channels * self.num_parts, device=self.device))  # fmt: skip
        else:
            prepared = PreparedRows(
                parts=torch.empty(n, self.num_parts, channels + 2, device=self.device)
            )
        # rows can be gathered straight into the [n, p, c] layout (one pass, no temporary)
        direct = self.feature.dtype == torch.float32 and self.feature.device == self.device

        def work(start: int) -> None:
            stop = min(start + chunk, n)
            index = rows[start:stop].to(self.feature.device)
            if self.metric == "cos":
                block = self.feature.index_select(0, index).to(self.device, torch.float32)
                norms = block.norm(p=2, dim=1, keepdim=True)  # [b, 1, p]
                _check_finite(norms)
                normalised = block / norms.clamp_min(1e-12)  # F.normalize's definition
                prepared.flat[start:stop] = normalised.reshape(stop - start, -1)  # [b, c*p]
            else:
                parts = prepared.parts[start:stop, :, :channels]  # [b, p, c]
                if direct:
                    torch.index_select(self.feature.transpose(1, 2), 0, index, out=parts)
                else:
                    block = self.feature.index_select(0, index).to(self.device, torch.float32)
                    parts.copy_(block.transpose(1, 2))
                squared = torch.linalg.vector_norm(parts, dim=2).square_()  # [b, p]
                _check_finite(squared)
                extra = prepared.parts[start:stop, :, channels:]  # [b, p, 2]
                if gallery:
                    extra[:, :, 0] = -0.5
                    torch.mul(squared, -0.5, out=extra[:, :, 1])
                else:
                    extra[:, :, 0] = squared
                    extra[:, :, 1] = 1.0

        if pool is None:
            for start in range(0, n, chunk):
                work(start)
        else:
            pool.run(work, range(0, n, chunk))
        return prepared

    def tile(
        self, probes: PreparedRows, gallery: PreparedRows, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Distances times :attr:`scale` (``p``), ``[len(probes), len(gallery)]``.

        Rankings only need the order, so the division by the number of parts is left out
        (one pass less over each tile); :meth:`matrix` returns true distances. ``out``
        receives the result (it may be a column slice of a larger buffer).
        """
        if self.metric == "cos":
            # p - sum over parts of x.y = p * (1 - mean similarity), in the multiply itself
            flat_out = torch.addmm(self._parts_tensor, probes.flat, gallery.flat.t(), alpha=-1.0)
            return flat_out if out is None else out.copy_(flat_out)
        # [p, np, ng] = |x|^2 + |y|^2 - 2 x.y = -2 [x, |x|^2, 1].[y, -1/2, -|y|^2/2]:
        # [p, np, c+2] x [p, c+2, ng], strided views of the [n, p, c+2] rows (the output is
        # contiguous: baddbmm falls back to a slow per-part loop on any other layout)
        parts_out = torch.empty(self.num_parts, len(probes), len(gallery), device=self.device)
        probe_parts, gallery_parts = probes.parts.transpose(0, 1), gallery.parts.permute(1, 2, 0)
        torch.baddbmm(parts_out, probe_parts, gallery_parts, beta=0.0, alpha=-2.0, out=parts_out)
        # sqrt of a rounding-negative value is NaN and nansum counts it as 0 = sqrt(max(v, 0)):
        # the clamp without its own pass over memory
        return torch.nansum(parts_out.sqrt_(), 0, out=out)

    def matrix(self, rows_a: torch.Tensor, rows_b: torch.Tensor, block: int = 1024) -> torch.Tensor:
        """The full distance matrix ``[len(rows_a), len(rows_b)]`` (for small sets only)."""
        out = torch.empty(len(rows_a), len(rows_b), device=self.device)
        for i, i_stop in spans(0, len(rows_a), block):
            a = self.prepare(rows_a[i:i_stop])
            for j, j_stop in spans(0, len(rows_b), block):
                b = self.prepare(rows_b[j:j_stop], gallery=True)
                self.tile(a, b, out=out[i:i_stop, j:j_stop])
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
        self.nonnegative = False  # compared as floats (ranking.py)
        size = int(max(probe_rows.max(), gallery_rows.max())) + 1
        self._probe_position = torch.full((size,), -1, dtype=torch.long)
        self._probe_position[probe_rows] = torch.arange(len(probe_rows))
        self._gallery_position = torch.full((size,), -1, dtype=torch.long)
        self._gallery_position[gallery_rows] = torch.arange(len(gallery_rows))

    def prepare(self, rows: torch.Tensor, pool=None, *, gallery: bool = False) -> PreparedRows:
        """Map feature rows to their matrix row (as probes) and column (as gallery)."""
        probe = self._probe_position[rows]
        gallery = self._gallery_position[rows]
        return PreparedRows(positions=torch.stack([probe, gallery], dim=1).to(self.device))

    def tile(
        self, probes: PreparedRows, gallery: PreparedRows, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The looked-up distances ``[len(probes), len(gallery)]`` (into ``out`` if given)."""
        found = self.matrix[probes.positions[:, 0]][:, gallery.positions[:, 1]]
        return found if out is None else out.copy_(found)
