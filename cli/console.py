"""What every `omni` command shares: where it prints, how it fails, how a `kill` stops it."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn, Protocol, TypeVar

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


class Outcome(Protocol):
    """What a long command returns: a verdict, and itself as JSON."""

    @property
    def passed(self) -> bool: ...

    def to_json(self) -> dict[str, Any]: ...


Result = TypeVar("Result", bound=Outcome)


def run_long(work: Callable[[], Result], *, expected: tuple[type[Exception], ...], interrupted: str) -> Result:
    """Run a long command: a `kill` stops it as Ctrl-C does; an expected error exits 2 with its
    message, an interruption 130 after saying what was stopped."""
    previous_handler = signal.signal(signal.SIGTERM, interrupt_on_sigterm)
    try:
        return work()
    except expected as error:
        fail(str(error))
    except KeyboardInterrupt:
        err.print(f"interrupted: {interrupted}", markup=False)
        raise typer.Exit(code=130) from None
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


def finish(result: Result, show: Callable[[Result], None], as_json: bool) -> NoReturn:
    """Print the result (as JSON, or as `show` draws it) and exit 0 if it passed, 1 if not."""
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        show(result)
    raise typer.Exit(code=0 if result.passed else 1)
