"""What every `omni` command shares: where it prints, how it fails, how a `kill` stops it."""

from __future__ import annotations

import sys
from types import FrameType
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

# A pipe or a CI log is not a terminal: give tables room instead of rich's 80-column default.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Exit 2 with `message`: bad input, or a run that could not happen."""
    # Plain text: messages quote patterns like `[a-z]` and masks like `[secret]`.
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code=2)


def interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """A `kill` stops a long command as Ctrl-C does: through the cleanup of what it started."""
    raise KeyboardInterrupt
