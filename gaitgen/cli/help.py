"""How every command's help and usage errors read: one rule, applied to every command at once.

:class:`GaitgenGroup` is the root command's class (``typer.Typer(cls=GaitgenGroup)``), so a
command added anywhere gets, with no edit of its own:

- its docstring's paragraphs as sentences (a line break inside a paragraph is a space; a
  paragraph that starts ``Example`` keeps its lines), and brackets shown as typed (Rich
  markup would swallow ``[default: x]``);
- real metavars: ``--iter N``, ``--out PATH``, ``--device DEVICE``, ``CONFIG``; nothing after a flag
  (Typer writes ``<bool>``, ``<int>``, ``<path>``);
- a default shown once: none of Typer's ``[default: ...]`` when the help text gives it;
- ``--debug`` after the command name as before it (``gaitgen train x.yaml --debug``);
- for an unknown option, only a close one as a suggestion, and the commands that have it
  (``--dry-run`` on ``train``: an option of ``new-model``, ``new-loss``, ...).

Nothing heavy is imported here: ``gaitgen --help`` stays fast.
"""

from __future__ import annotations

import copy
import difflib
import inspect
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from gaitgen.cli.common import STATE

#: how close a typed option must be to a real one to be suggested (difflib's ratio)
SUGGESTION_CUTOFF = 0.75


class _Argument(TyperArgument):
    """An argument whose metavar says what it is: no ``<path>`` type beside it."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:  # noqa: ARG002 - Typer's
        return None

    def get_usage_pieces(self, ctx: typer.Context) -> list[str]:  # noqa: ARG002 - click's
        """``CONFIG`` (required) or ``[CONFIG]``, as click writes them (Typer: ``{CONFIG}``)."""
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return [name if self.required else f"[{name}]"]


def _quiet_flags(parameters: list[Any]) -> list[Any]:
    """No metavar after a flag, also on the options made at help time (``--help``)."""
    for parameter in parameters:
        if isinstance(parameter, TyperOption) and (parameter.is_flag or parameter.count):
            parameter.metavar = ""
    return parameters


class _Command(TyperCommand):
    """A command as :func:`polish_command` left it, its ``--help`` flag without ``<bool>``."""

    def get_params(self, ctx: typer.Context) -> list[Any]:
        return _quiet_flags(super().get_params(ctx))


def _sentences(text: str | None) -> str | None:
    """``text`` with the line breaks inside each paragraph made spaces, brackets escaped.

    A paragraph starting ``Example`` (or click's ``\\b``) keeps its lines: commands to copy.
    """
    if not text:
        return text
    from rich.markup import escape

    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        if not paragraph.startswith(("Example", "\b")):
            paragraph = " ".join(line.strip() for line in paragraph.splitlines())
        paragraphs.append(escape(paragraph))
    return "\n\n".join(paragraphs)


def _set_debug(ctx: typer.Context, parameter: Any, value: bool) -> bool:  # noqa: ARG001
    if value:
        STATE.debug = True
    return value


def _metavar(parameter: TyperOption) -> str:
    """``cpu|cuda`` for a choice, ``PATH`` for a path, ``N`` for a whole number, else the
    option's name in capitals (``--device`` -> DEVICE)."""
    described = getattr(parameter, "type_descriptor", None)
    choices = described.choices if described is not None and described.is_choice else None
    if choices:
        return "|".join(str(choice) for choice in choices)
    if described is not None and described.is_path:
        return "PATH"
    if described is not None and described.annotation is int:
        return "N"
    long_names = [name for name in parameter.opts if name.startswith("--")]
    word = long_names[0][2:] if long_names else (parameter.name or "value")
    return word.upper().replace("-", "_")


def polish_command(command: TyperCommand | TyperGroup, debug: TyperOption | None = None) -> None:
    """Apply this module's rules to one command (see the module docstring).

    Args:
        command: the command, changed in place.
        debug: the root command's ``--debug``, copied onto ``command`` when it has none.
    """
    command.help = _sentences(command.help)
    for parameter in command.params:
        help_text = getattr(parameter, "help", None)
        if help_text:
            parameter.help = _sentences(help_text)
            if "default" in help_text.lower():  # the text says it: not twice, not as 0
                parameter.show_default = False
        if isinstance(parameter, TyperArgument):
            parameter.metavar = parameter.metavar or (parameter.name or "value").upper()
            parameter.__class__ = _Argument  # the same object, without the type column
        elif isinstance(parameter, TyperOption):
            if parameter.is_flag or parameter.count:
                parameter.metavar = ""
            elif parameter.metavar is None:
                parameter.metavar = _metavar(parameter)
    if type(command) is TyperCommand:
        command.__class__ = _Command  # the same object, with _Command's get_params
    names = {name for parameter in command.params for name in parameter.opts}
    if debug is not None and "--debug" not in names:
        own = copy.copy(debug)
        own.callback, own.expose_value, own.is_eager, own.hidden = _set_debug, False, True, True
        command.params.append(own)


def option_suggestion(typed: str, command: TyperCommand, group: TyperGroup) -> str:
    """What to say after ``No such option: TYPED``: a close option of the command, else the
    commands that have ``typed``, else nothing."""
    own = [name for parameter in command.params for name in parameter.opts]
    close = difflib.get_close_matches(typed, own, n=1, cutoff=SUGGESTION_CUTOFF)
    if close:
        return f"Did you mean {close[0]}?"
    having = sorted(
        name
        for name, other in group.commands.items()
        if any(typed in parameter.opts for parameter in other.params)
    )
    if having:
        return f"{typed} is an option of gaitgen {', '.join(having)}."
    return "See --help for the options."


class GaitgenGroup(TyperGroup):
    """The root command: polishes each command's help once, and usage errors as they come."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        debug = next((p for p in self.params if "--debug" in p.opts), None)
        polish_command(self)
        for command in self.commands.values():
            polish_command(command, debug)

    def get_params(self, ctx: typer.Context) -> list[Any]:
        return _quiet_flags(super().get_params(ctx))

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> tuple[Any, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            ctx.meta["gaitgen.command"] = command
        return name, command, rest

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            # click's NoSuchOption (Typer's own copy of click): the one error with these two
            typed = getattr(error, "option_name", None)
            command = ctx.meta.get("gaitgen.command")
            if hasattr(error, "possibilities") and typed and command is not None:
                if typed.startswith("--"):
                    error.possibilities = None
                    error.message = (
                        f"No such option: {typed}. {option_suggestion(typed, command, self)}"
                    )
            raise
