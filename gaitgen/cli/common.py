"""What every command shares: the --debug state and turning errors into one clear line."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import typer

from gaitgen.runtime.errors import GaitgenError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    debug: bool = False


STATE = CliState()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


def handle_errors(func: F) -> F:
    """Run a command so that a failure is one line on stderr and a non-zero exit.

    GaitgenError (bad input) prints its message; any other exception (a bug or an
    environment problem) prints its type and message with a hint to use --debug.
    With ``gaitgen --debug`` the exception propagates with its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise fail("interrupted", code=130) from None
        except GaitgenError as exc:
            if STATE.debug:
                raise
            raise fail(str(exc), code=exc.exit_code) from None
        except OSError as exc:
            if STATE.debug:
                raise
            from gaitgen.runtime.atomic import disk_error

            # a full disk or a read-only folder met outside gaitgen's own writers (copier's
            # files in init, a library's cache): the path and the cause, not a bare errno
            known = disk_error(exc, exc.filename or "a file")
            if known is None:
                raise fail(
                    f"{type(exc).__name__}: {exc} (run 'gaitgen --debug ...' for the traceback)"
                ) from None
            raise fail(str(known)) from None
        except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into a line
            if STATE.debug:
                raise
            raise fail(
                f"{type(exc).__name__}: {exc} (run 'gaitgen --debug ...' for the traceback)"
            ) from None

    return wrapper  # type: ignore[return-value]


def echo_status(action: str, path: str) -> None:
    """Print a generator status line such as ``  create  configs/x.yaml``."""
    typer.echo(f"{action:>10}  {path}")


def is_debug_argv() -> bool:
    return "--debug" in sys.argv[1:]
