"""Which frames of a sequence go into a batch: OpenGait's ``sample_type`` options.

``sample_type`` is ``<how many>_<order>``:

- ``fixed``: ``frames_num_fixed`` frames; ``unfixed``: a number drawn per sequence from
  ``frames_num_min..frames_num_max``; ``all``: every frame (the first ``frames_all_limit``
  when that is set and the sequence is longer).
- ``ordered`` (fixed/unfixed): a window of ``n + frames_skip_num`` consecutive frames (the
  sequence repeated when shorter), ``n`` of them kept in order; ``unordered``: ``n`` frames
  drawn at random, with replacement only when the sequence has fewer than ``n``;
  ``allordered``: drawn as ``unordered`` from the whole sequence, then put in time order
  (OpenGait's ``sorted(np.random.choice(indices, n, replace=len < n))``, used by its
  DenoisingGait configs; no ``frames_skip_num``). OpenGait's own ``CollateFn`` accepts the
  name but, as written at commit 0efafd4, its flag for it is never true, so it samples such
  batches as ``unordered`` (the same frames, not sorted); gaitgen does what the name and that
  branch say.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ..config.schema import SAMPLE_MODES, SAMPLE_ORDERS, SAMPLE_TYPES
from ..errors import ConfigError


def _count(cfg: dict, name: str, key: str, default: int | None = None, minimum: int = 1) -> int:
    value = cfg.get(name, default)
    if value is None:
        raise ConfigError(f"{key}.{name}: required by sample_type {cfg.get('sample_type')!r}")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key}.{name}: expected a whole number >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class FrameSampling:
    """A parsed ``sample_type`` with its frame counts."""

    mode: str
    ordered: bool
    all_ordered: bool = False
    frames_num_fixed: int = 0
    frames_num_min: int = 0
    frames_num_max: int = 0
    frames_skip_num: int = 0
    frames_all_limit: int = -1

    @classmethod
    def from_config(cls, cfg: dict[str, Any], key: str) -> FrameSampling:
        """Read ``sample_type`` and its frame counts from a sampler config.

        Args:
            cfg: ``trainer_cfg.sampler`` or ``evaluator_cfg.sampler``.
            key: that config's name, for error messages.

        Raises:
            ConfigError: naming the key that is missing or wrong.
        """
        sample_type = cfg.get("sample_type", "fixed_unordered")
        parts = str(sample_type).split("_")
        if len(parts) != 2 or parts[0] not in SAMPLE_MODES or parts[1] not in SAMPLE_ORDERS:
            choices = ", ".join(SAMPLE_TYPES)
            raise ConfigError(
                f"{key}.sample_type: unknown value {sample_type!r}; use one of {choices}"
            )
        mode, ordered, all_ordered = parts[0], parts[1] == "ordered", parts[1] == "allordered"
        values: dict[str, int] = {}
        if mode == "fixed":
            values["frames_num_fixed"] = _count(cfg, "frames_num_fixed", key)
        if mode == "unfixed":
            values["frames_num_min"] = _count(cfg, "frames_num_min", key)
            values["frames_num_max"] = _count(cfg, "frames_num_max", key)
            if values["frames_num_min"] > values["frames_num_max"]:
                raise ConfigError(
                    f"{key}.frames_num_min ({values['frames_num_min']}) exceeds "
                    f"frames_num_max ({values['frames_num_max']})"
                )
        if mode != "all" and ordered:
            values["frames_skip_num"] = _count(cfg, "frames_skip_num", key, default=0, minimum=0)
        if mode == "all":
            limit = cfg.get("frames_all_limit", -1)
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < -1 or limit == 0:
                raise ConfigError(
                    f"{key}.frames_all_limit: expected -1 (no limit) or >= 1, got {limit!r}"
                )
            values["frames_all_limit"] = limit
        return cls(mode=mode, ordered=ordered, all_ordered=all_ordered, **values)

    @property
    def fixed_length(self) -> bool:
        """True when every sequence of a batch has the same number of frames."""
        return self.mode == "fixed"

    def indices(self, length: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The frame indices to take from a sequence of ``length`` frames (LongTensor)."""
        if self.mode == "all":
            count = length
            if self.frames_all_limit > -1:
                count = min(length, self.frames_all_limit)
            return torch.arange(count)
        if self.mode == "fixed":
            wanted = self.frames_num_fixed
        else:
            wanted = int(
                torch.randint(
                    self.frames_num_min, self.frames_num_max + 1, (1,), generator=generator
                )
            )
        if self.ordered:
            window = wanted + self.frames_skip_num
            span = length * math.ceil(window / length)  # the sequence repeated to fit the window
            start = int(torch.randint(0, span - window + 1, (1,), generator=generator))
            kept = torch.randperm(window, generator=generator)[:wanted].sort().values
            return (kept + start) % length
        if length < wanted:
            drawn = torch.randint(0, length, (wanted,), generator=generator)
        else:
            drawn = torch.randperm(length, generator=generator)[:wanted]
        return drawn.sort().values if self.all_ordered else drawn
