"""Where the program declared each resource, and the program bugs the real engine refuses.

The Pulumi engine fails a run that registers the same URN twice ("Duplicate resource URN"),
and `pulumi up` fails at the cloud API when an Output was formatted into a string (the SDK
only warns, unless `PULUMI_ERROR_OUTPUT_STRING=1`, which the offline engine sets). Both are
refused here with the resource and the line of the program that declared or formatted it.

Declarations are recorded by a stack transformation: the SDK runs it synchronously inside
each resource's constructor, so the program's own frame is still on the stack.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any


class ProgramRefused(RuntimeError):
    """The program does something the real Pulumi engine or the cloud would refuse."""


class DuplicateUrnError(ProgramRefused):
    """Two resources were registered under one URN."""


class OutputFormattedError(ProgramRefused):
    """An Output was formatted into a string (`f"{output}"`, `str(output)`)."""


@dataclass(frozen=True)
class Declaration:
    type: str
    name: str
    parent: str  # "<type> <name>" of the parent resource, or "the stack"
    source: str  # "components/identity.py:42", or "" when no program frame was found
    resource: Any


class Declarations:
    """Every resource the program constructed, in order, with the line that declared it."""

    def __init__(self, root: Path):
        self.root = str(root.resolve())
        self.items: list[Declaration] = []

    def transformation(self, args: Any) -> None:
        """A `pulumi.runtime.register_stack_transformation` callback that changes nothing."""
        parent = args.opts.parent if args.opts is not None else None
        self.items.append(
            Declaration(
                type=args.type_,
                name=args.name,
                parent=_describe(parent),
                source=self.program_line(sys._getframe(1)),
                resource=args.resource,
            )
        )
        return None

    def program_line(self, frame: FrameType | None) -> str:
        """`path:line` of the innermost frame in the project's own files (not the SDKs)."""
        while frame is not None:
            filename = frame.f_code.co_filename
            if self._is_program_file(filename):
                return f"{Path(filename).resolve().relative_to(self.root)}:{frame.f_lineno}"
            frame = frame.f_back
        return ""

    def _is_program_file(self, filename: str) -> bool:
        return (
            filename.startswith(self.root)
            and "site-packages" not in filename
            and "/offline/" not in filename
            and not filename.startswith(str(Path(self.root) / ".venv"))
        )

    def named(self, type_: str, name: str) -> list[Declaration]:
        return [d for d in self.items if d.type == type_ and d.name == name]

    # --- refusals ---------------------------------------------------------------------------

    def duplicate_urn_error(self, urn: str, type_: str, name: str, parents: list[str]) -> DuplicateUrnError:
        declarations = self.named(type_, name)
        lines = [
            f"duplicate resource URN {urn}: the program registers it {len(parents)} times, "
            "and the Pulumi engine refuses the run (\"Duplicate resource URN\")."
        ]
        if declarations:
            for number, declaration in enumerate(declarations, 1):
                where = f" at {declaration.source}" if declaration.source else ""
                lines.append(f"  {number}. {type_} {name!r} under {declaration.parent}{where}")
        else:
            lines += [f"  {number}. {type_} {name!r} under {parent}" for number, parent in enumerate(parents, 1)]
        lines.append("Give each resource its own name (names are derived from the component name: pass distinct names).")
        return DuplicateUrnError("\n".join(lines))

    def output_formatted_error(self, error: BaseException) -> OutputFormattedError:
        frames = traceback.extract_tb(error.__traceback__)
        program = [f for f in frames if self._is_program_file(f.filename)]
        where = ""
        if program:
            last = program[-1]
            where = f" at {Path(last.filename).resolve().relative_to(self.root)}:{last.lineno} (`{(last.line or '').strip()}`)"
        output = _output_of(error.__traceback__)
        origin = self._origin(output) if output is not None else ""
        return OutputFormattedError(
            f"an Output{origin} is formatted into a string{where}: the text would hold a warning instead of the "
            "value, and `pulumi up` would send it to the cloud API. Build the string with "
            '`pulumi.Output.format("serviceAccount:{0}", account.email)`, `Output.concat(...)` or `.apply(...)`.'
        )

    def _origin(self, output: Any) -> str:
        for declaration in reversed(self.items):
            for attribute, value in vars(declaration.resource).items():
                if value is output:
                    return f" of {declaration.type} {declaration.name!r} (its `{attribute}`)"
        return ""


def _describe(resource: Any) -> str:
    if resource is None:
        return "the stack"
    type_ = getattr(resource, "_type", None) or getattr(resource, "pulumi_type", None) or type(resource).__name__
    name = getattr(resource, "_name", None)
    return f"{type_} {name!r}" if name else str(type_)


def _output_of(tb: TracebackType | None) -> Any:
    """The Output whose `__str__` raised: `self` in the innermost frame of the SDK's output.py."""
    found = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "__str__" and frame.f_code.co_filename.endswith("pulumi/output.py"):
            found = frame.f_locals.get("self")
        tb = tb.tb_next
    return found


def find_output_to_string(error: BaseException) -> BaseException | None:
    """The `_OutputToStringError` in `error`'s cause/context chain, if any."""
    from pulumi.output import _OutputToStringError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, _OutputToStringError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
