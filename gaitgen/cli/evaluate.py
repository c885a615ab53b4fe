"""Commands of the 'evaluate' group (to be filled in)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
