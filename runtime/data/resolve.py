"""Find a sampler or transform class by name (built-in or dotted path) and check its args."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigError, RegistryError, did_you_mean


def resolve_class(name: Any, builtins: Mapping[str, type], kind: str, key: str) -> type:
    """Return the class ``name`` names: a built-in, or ``package.module.Class``.

    Raises:
        RegistryError: the name is unknown (with close matches) or the dotted path fails.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{key}: expected a {kind} class name, got {name!r}")
    if name in builtins:
        return builtins[name]
    if "." in name:
        from ..registry import import_dotted

        found = import_dotted(name, f"{key}: {kind} {name!r}")
        if not isinstance(found, type):
            raise RegistryError(f"{key}: {name!r} is not a {kind} class")
        return found
    raise RegistryError(
        f"{key}: unknown {kind} {name!r}{did_you_mean(name, builtins)}; built-in {kind}s: "
        f"{', '.join(sorted(builtins))} (or give a dotted path package.module.Class)"
    )


def parameter_names(cls: type) -> list[str]:
    """Names of the keyword parameters of ``cls.__init__`` (no self, no *args/**kwargs)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [
        p.name
        for p in params
        if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def check_arguments(
    cls: type, args: Mapping[str, Any], key: str, ignored: Iterable[str] = ()
) -> dict:
    """Keep the entries of ``args`` that ``cls`` accepts; an unknown one is a ConfigError."""
    accepted = parameter_names(cls)
    ignored = set(ignored)
    for name in args:
        if name not in accepted and name not in ignored:
            raise ConfigError(
                f"{key}.{name}: {cls.__name__} has no parameter {name!r}"
                f"{did_you_mean(name, accepted)}; its parameters: {', '.join(accepted) or 'none'}"
            )
    return {k: v for k, v in args.items() if k in accepted}
