"""Exact probe-gallery distances with OpenGait's definitions, computed tile by tile in torch.

OpenGait's ``cuda_dist`` on features ``[n, c, p]`` (``p`` horizontal parts):

- ``euc``: per part, ``sqrt(max(|x|^2 + |y|^2 - 2 x.y, 0))``, then the mean over parts;
- ``cos``: each part L2-normalised over ``c``, then ``1 - mean over parts of x.y``.

For ``euc`` the square root is per part, so the parts cannot be folded into one long dot
product; each tile is one batched matrix multiply over the parts (``torch.baddbmm``, with
``|y|^2`` as the added term), followed by three in-place passes (add ``|x|^2``, clamp,
sqrt) and a sum over parts. ``cos`` is one plain matrix multiply over the flattened
``c * p`` dims. Features stay where they are (host memory or the GPU); only the rows a
block needs are gathered, so memory is bounded by the block sizes, not by ``N``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

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

    def prepare(self, rows: torch.Tensor) -> PreparedRows:
        """Gather ``rows`` (int64 indices into the features) and lay them out for tiles."""
        block = self.feature.index_select(0, rows.to(self.feature.device))
        block = block.to(self.device, torch.float32, non_blocking=True)  # [n, c, p]
        if self.metric == "cos":
            block = F.normalize(block, p=2, dim=1)
            return PreparedRows(flat=block.reshape(block.shape[0], -1))  # [n, c*p]
        parts = block.permute(2, 0, 1).contiguous()  # [p, n, c]
        return PreparedRows(parts=parts, squared_norms=parts.pow(2).sum(2))  # [p, n]

    def tile(self, probes: PreparedRows, gallery: PreparedRows) -> torch.Tensor:
        """Distances ``[len(probes), len(gallery)]`` between prepared rows."""
        if self.metric == "cos":
            similarity = torch.mm(probes.flat, gallery.flat.t())  # [np, ng]
            return similarity.mul_(-1.0 / self.num_parts).add_(1.0)
        # [p, np, ng] = |y|^2 - 2 x.y, then + |x|^2, clamp, sqrt, mean over parts
        out = torch.baddbmm(
            gallery.squared_norms.unsqueeze(1),
            probes.parts,
            gallery.parts.transpose(1, 2),
            alpha=-2.0,
        )
        out.add_(probes.squared_norms.unsqueeze(2)).clamp_(min=0).sqrt_()
        return out.sum(0).div_(self.num_parts)

    def matrix(self, rows_a: torch.Tensor, rows_b: torch.Tensor, block: int = 1024) -> torch.Tensor:
        """The full distance matrix ``[len(rows_a), len(rows_b)]`` (for small sets only)."""
        out = torch.empty(len(rows_a), len(rows_b), device=self.device)
        for i in range(0, len(rows_a), block):
            a = self.prepare(rows_a[i : i + block])
            for j in range(0, len(rows_b), block):
                out[i : i + block, j : j + block] = self.tile(a, self.prepare(rows_b[j : j + block]))
        return out


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
        size = int(max(probe_rows.max(), gallery_rows.max())) + 1
        self._probe_position = torch.full((size,), -1, dtype=torch.long)
        self._probe_position[probe_rows] = torch.arange(len(probe_rows))
        self._gallery_position = torch.full((size,), -1, dtype=torch.long)
        self._gallery_position[gallery_rows] = torch.arange(len(gallery_rows))

    def prepare(self, rows: torch.Tensor) -> PreparedRows:
        """Map feature rows to their matrix row (as probes) and column (as gallery)."""
        probe = self._probe_position[rows]
        gallery = self._gallery_position[rows]
        return PreparedRows(positions=torch.stack([probe, gallery], dim=1).to(self.device))

    def tile(self, probes: PreparedRows, gallery: PreparedRows) -> torch.Tensor:
        """The looked-up distances ``[len(probes), len(gallery)]``."""
        return self.matrix[probes.positions[:, 0]][:, gallery.positions[:, 1]]
