"""What every command shares: the --debug state, turning errors into one line, status lines."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer

from gaitgen.runtime.error_report import report_error, sigterm_as_interrupt
from gaitgen.runtime.errors import ConfigError, GaitgenError

F = TypeVar("F", bound=Callable[..., Any])
DEBUG_HINT = "run 'gaitgen --debug ...' for the traceback"


@dataclass
class CliState:
    """Settings of the root command (``gaitgen --debug``) that the commands below read."""

    debug: bool = False


STATE = CliState()


def fail(message: str, code: int = 1) -> GaitgenError:
    """The error to raise for a failure a command finds itself: ``raise fail("...")``.

    :func:`handle_errors` prints it as ``error: message`` and exits with ``code``, like
    every other failure.
    """
    error = GaitgenError(message)
    error.exit_code = code
    return error


def handle_errors(func: F) -> F:
    """Run a command so that a failure is one line on stderr and a non-zero exit.

    The line is :func:`gaitgen.runtime.error_report.report_error`'s, the rule that
    ``python -m gaitgen.runtime`` follows too; with ``gaitgen --debug`` the exception
    propagates with its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with sigterm_as_interrupt():  # SIGTERM cleans up as Ctrl-C does, exit 143
                return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the one rule
            code = report_error(
                exc, debug=STATE.debug, debug_hint=DEBUG_HINT, command=_command_line()
            )
            raise typer.Exit(code=code) from None

    return wrapper  # type: ignore[return-value]


def _command_line() -> str | None:
    """``gaitgen train configs/x.yaml``: the running command and its arguments (not its
    options), for the line of an internal error."""
    import typer.main  # Typer's own click: its context stack is the one the command runs in

    context = typer.main.get_current_context(silent=True)
    if context is None:
        return None
    words = ["gaitgen", *context.command_path.split()[1:]]
    for parameter in context.command.params:
        value = context.params.get(parameter.name or "")
        if parameter.param_type_name == "argument" and value not in (None, (), []):
            words += [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    return " ".join(words)


def require_config(config: Path) -> None:
    """Fail before anything heavy is imported if CONFIG is not a file (named as typed)."""
    if not config.is_file():
        raise ConfigError(f"config file not found: {config}")


def print_config(config: Path, overrides: list[str] | None) -> None:
    """``--print-config`` of ``check``, ``train`` and ``test``: the resolved config as YAML
    (its ``_base_`` files, the packaged defaults and the ``--set`` overrides merged, data paths
    made absolute), on stdout and nothing else."""
    require_config(config)
    from gaitgen.runtime.config import dump_config
    from gaitgen.runtime.engine.run import load_run

    run = load_run(config, overrides or [])
    typer.echo(dump_config(run.cfgs), nl=False)


def echo_status(action: str, path: str) -> None:
    """Print a generator status line such as ``  create  configs/x.yaml``."""
    typer.echo(f"{action:>10}  {path}")
