"""Errors that mean "the user's input is wrong", as opposed to bugs.

Every message says what was wrong, where (file, key, line) and what to do. The CLI prints
them as one line on stderr; ``--debug`` shows the traceback. This module imports nothing
heavy, so the CLI can catch these errors without importing torch.
"""

from __future__ import annotations


class GaitgenError(Exception):
    """Base class of every error caused by user input (configs, data, names, files)."""

    exit_code: int = 1


class ConfigError(GaitgenError):
    """A config file or a ``--set`` override is invalid."""


class DataError(GaitgenError):
    """A dataset, partition file or sequence file is missing or invalid."""


class RegistryError(ConfigError):
    """A component name (model, loss, sampler, protocol...) in a config or an option names
    nothing, names two things, or names a file that fails to import."""


class CheckpointError(GaitgenError):
    """A checkpoint is missing, incomplete or does not match the model."""


class TrainingError(GaitgenError):
    """Training cannot go on (for example the loss became NaN or infinite)."""


class GenerateError(GaitgenError):
    """A generator cannot write what was asked (bad name, clash, conflict)."""


class ProjectError(GaitgenError):
    """No gaitgen project could be found, or its pyproject.toml is invalid."""


def closest(name: str, candidates, n: int = 3) -> list[str]:
    """Return up to ``n`` names from ``candidates`` that look like ``name`` (for hints)."""
    import difflib

    candidates = list(candidates)
    matches = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        matches = [lowered[m] for m in difflib.get_close_matches(name.lower(), lowered, n=n)]
    return matches


def did_you_mean(name: str, candidates) -> str:
    """Format a hint such as ``" (did you mean 'TripletLoss'?)"``; empty when nothing is close."""
    matches = closest(name, candidates)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(m) for m in matches) + "?)"
