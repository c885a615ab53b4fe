"""The one argument checker: a config block against the signature of what it will call.

Used at config load (``where`` gives ``file:line`` for each key) and again when a component
is built (``where`` is the config key), for every kind: a loss's, a backbone's, a sampler's,
a transform's, an optimizer's or a scheduler's parameters, and a model's ``build_network``
keys where a model declares them. The rules:

- a name the signature lacks is an error with the closest parameter, unless the signature
  takes ``**kwargs``, or OpenGait's configs carry that key and OpenGait drops it for this
  section (``OPENGAIT_IGNORED`` in ``runtime/config/schema.py``): then it is dropped, and
  reported once as an :class:`Ignored` warning;
- a value must fit the parameter's annotation where it names plain types (``int``,
  ``float``, ``bool``, ``str``, lists, unions of those), else its default's type;
- a parameter without a default must be given, unless the caller supplies it.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import operator
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, closest, did_you_mean

# where(path) -> "file.yaml:12" or "--set 'trainer_cfg.total_iter=abc'" or a config key
Where = Callable[[tuple], str]


@dataclass(frozen=True)
class Ignored:
    """An OpenGait key found in a config and ignored.

    Attributes:
        path: the dotted key, e.g. ``trainer_cfg.fix_layers``.
        closest: the known key closest to it.
        why: why it is ignored.
        where: the file and line (or override) it came from.
    """

    path: str
    closest: str
    why: str
    where: str

    def message(self) -> str:
        """The warning line."""
        return (
            f"{self.where}: {self.path} is ignored ({self.why}); "
            f"the closest known key is {self.closest!r}"
        )


def dotted(path: tuple) -> str:
    """``("loss_cfg", 0, "margin")`` -> ``loss_cfg[0].margin``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(tp: Any) -> str:
    """A type in words: ``int | list[int]`` -> ``a whole number or a list of whole numbers``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(t) for t in typing.get_args(tp))
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        return "a list" if inner is Any else f"a list of {describe(inner).removeprefix('a ')}s"
    names = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "a string",
        dict: "a mapping",
        list: "a list",
        type(None): "null",
    }
    return names.get(tp, "a value")


def matches(value: Any, tp: Any) -> bool:
    """Whether a YAML value has type ``tp`` (bool is not a number; an int is a float)."""
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, t) for t in typing.get_args(tp))
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        return isinstance(value, list) and all(matches(v, inner) for v in value)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is type(None):
        return value is None
    if tp is dict:
        return isinstance(value, Mapping)
    return isinstance(value, tp) if isinstance(tp, type) else True


def default_type_problem(value: Any, default: Any) -> str | None:
    """What ``value`` should be, judged by a signature default's type, or None if it fits.

    A bool default wants true/false, a number a number, a string a string, a tuple or list a
    list; other defaults (None, objects, no default) accept anything.
    """
    if default is inspect.Parameter.empty or default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "a number"
    if isinstance(default, str) and default != "deprecated":
        return None if isinstance(value, str) else "a string"
    if isinstance(default, (tuple, list)):
        return None if isinstance(value, (list, tuple)) else "a list"
    return None


_PLAIN = (int, float, bool, str, list, dict, type(None))
# annotations a YAML list satisfies (``milestones: Iterable[int]``, ``channels: Sequence[int]``)
_LIST_LIKE = (list, collections.abc.Sequence, collections.abc.Iterable)


def _as_list(tp: Any) -> Any:
    """``Sequence[int]`` / ``Iterable[int]`` read as ``list[int]`` (what a config can give)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return functools.reduce(operator.or_, [_as_list(t) for t in typing.get_args(tp)])
    if origin in _LIST_LIKE:
        (inner,) = typing.get_args(tp) or (Any,)
        return list[_as_list(inner)]
    return tp


def _checkable(tp: Any) -> bool:
    """Whether an annotation names only plain YAML types (so a value can be held to it)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return all(_checkable(t) for t in typing.get_args(tp))
    if origin is list:
        return all(_checkable(t) for t in typing.get_args(tp))
    return tp in _PLAIN


def _annotations(function: Any) -> dict[str, Any]:
    """The parameter annotations of ``function``, resolved one by one where they can be
    (``typing.get_type_hints`` gives up on all of them when one name does not resolve)."""
    try:
        return typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - resolved one by one below
        pass
    # names a module imports for type checkers only (``Iterable`` in torch's schedulers)
    namespace = {**vars(collections.abc), **vars(typing)}
    namespace.update(getattr(inspect.getmodule(function), "__dict__", {}))
    hints = {}
    for name, parameter in inspect.signature(function).parameters.items():
        annotation = parameter.annotation
        if isinstance(annotation, str):
            try:
                annotation = typing.ForwardRef(annotation)._evaluate(namespace, None, frozenset())
            except Exception:  # noqa: BLE001 - an unresolvable one is not checked
                continue
        if annotation is not inspect.Parameter.empty:
            hints[name] = annotation
    return hints


@dataclass(frozen=True)
class Signature:
    """What a callable accepts: keyword parameters with defaults and annotations."""

    defaults: dict[str, Any]
    hints: dict[str, Any]
    var_keyword: bool


def signature_of(target: Any) -> Signature | None:
    """The keyword parameters of a class's constructor or a function (None: unknowable)."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # builtins without a signature: the call decides
        return None
    init = target.__init__ if inspect.isclass(target) else target
    hints = {name: _as_list(hint) for name, hint in _annotations(init).items()}
    defaults, var_keyword = {}, False
    for p in signature.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_keyword = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self":
            defaults[p.name] = p.default
    return Signature(defaults, hints, var_keyword)


def accepted_parameters(target: Any) -> list[str]:
    """Names of the keyword parameters ``target`` takes (no self, no ``*args``/``**kwargs``)."""
    signature = signature_of(target)
    return list(signature.defaults) if signature else []


def _type_problem(value: Any, name: str, signature: Signature, owner: str) -> str | None:
    """What ``value`` should be for parameter ``name``, with why, or None when it fits."""
    hint = signature.hints.get(name)
    default = signature.defaults[name]
    if hint is not None and _checkable(hint):
        if default is None and not matches(None, hint):
            hint = hint | None
        return None if matches(value, hint) else f"{describe(hint)} ({owner}'s {name})"
    problem = default_type_problem(value, default)
    return f"{problem} (as {owner}'s default {default!r})" if problem else None


def check_arguments(
    target: Any,
    params: Mapping[str, Any],
    where: str | Where,
    *,
    path: tuple = (),
    supplied: tuple[str, ...] = (),
    dropped: Mapping[str, Any] | None = None,
    found: list[Ignored] | None = None,
) -> dict[str, Any]:
    """Check that ``target(**params)`` fits; return the arguments to pass.

    Args:
        target: the class or function to be called.
        params: its keyword arguments from the config.
        where: the config key (``"optimizer_cfg"``) or a function giving ``file:line`` for a
            key path; messages start with it.
        path: the key path of ``params`` in the config, e.g. ``("optimizer_cfg",)``.
        supplied: parameters the caller passes itself (never missing, never from the config).
        dropped: OpenGait's dropped keys for this section (``schema.ignored_in(section)``).
        found: where to record an :class:`Ignored` for each dropped key met (the loader warns
            once per key); without it they are dropped silently.

    Returns:
        ``params`` less the keys OpenGait drops.

    Raises:
        ConfigError: an unknown parameter, a value of the wrong type, or a
            missing required parameter, naming the key, the class and the fix.
    """
    signature = signature_of(target)
    if signature is None:
        return dict(params)
    name = getattr(target, "__name__", repr(target))

    def at(key_path: tuple) -> str:
        """``c.yaml:12: trainer_cfg.transform.prob`` (at load) or ``loss_cfg[0].margin``."""
        if callable(where):
            return f"{where(key_path)}: {dotted(key_path)}" if key_path else where(key_path)
        return f"{where}{'.' if key_path else ''}{dotted(key_path)}"

    accepted = [p for p in signature.defaults if p not in supplied]
    dropped = dropped or {}
    kept: dict[str, Any] = {}
    for key, value in params.items():
        key_path = (*path, key)
        if key not in signature.defaults or key in supplied:
            if signature.var_keyword and key not in supplied:
                kept[key] = value
                continue
            if key in dropped:
                if found is not None:
                    near = closest(str(key), accepted, n=1) or [dropped[key].closest]
                    why = f"{name} has no parameter {key!r}: OpenGait drops it"
                    located = where(key_path) if callable(where) else at(key_path)
                    found.append(Ignored(dotted(key_path), near[0], why, located))
                continue
            raise ConfigError(
                f"{at(key_path)}: {name} has no parameter {key!r}"
                f"{did_you_mean(str(key), accepted)}; its parameters: "
                f"{', '.join(accepted) or 'none'}"
            )
        problem = _type_problem(value, key, signature, name)
        if problem:
            raise ConfigError(
                f"{at(key_path)}: expected {problem}, got {value!r} ({type(value).__name__})"
            )
        kept[key] = value
    missing = [
        p
        for p, default in signature.defaults.items()
        if default is inspect.Parameter.empty and p not in params and p not in supplied
    ]
    if missing:
        raise ConfigError(
            f"{at(path)}: {name} needs {', '.join(repr(m) for m in missing)}, which the config "
            f"lacks; add {'them' if len(missing) > 1 else 'it'}"
        )
    return kept
