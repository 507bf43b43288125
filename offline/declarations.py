"""Where the program declared each resource, and the program bugs the real engine refuses.

The Pulumi engine fails a run that registers the same URN twice ("Duplicate resource URN"),
and `pulumi up` fails at the cloud API when an Output was formatted into a string (the SDK
only warns, unless `PULUMI_ERROR_OUTPUT_STRING=1`, which the offline engine sets). Both are
refused here with the resource and the line of the program that declared or formatted it.

A duplicate's declarations are located by the source position the SDK sends with each
registration. An Output formatted into a string is traced to its resource only when that
happens (a search of the live resources), so a run that succeeds pays nothing for it.
"""

from __future__ import annotations

import gc
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any


class ProgramRefused(RuntimeError):
    """The program does something the real Pulumi engine or the cloud would refuse."""


class DuplicateUrnError(ProgramRefused):
    """Two resources were registered under one URN."""


class OutputFormattedError(ProgramRefused):
    """An Output was formatted into a string (`f"{output}"`, `str(output)`)."""


class Declarations:
    """Turns what the run saw into refusals that name the program's own files and lines."""

    def __init__(self, root: Path):
        self.root = str(root.resolve())
        self._program_files: dict[str, str | None] = {}  # filename -> its path in the project, or None

    def relative(self, source: str) -> str:
        """`components/x.py:12` for a `/abs/path/components/x.py:12` inside the project."""
        path, _, line = source.rpartition(":")
        relative = self._relative(path) if path else None
        return f"{relative}:{line}" if relative else source

    def _relative(self, filename: str) -> str | None:
        """The program file's path relative to the project, or None for the SDKs' files."""
        if filename not in self._program_files:
            path = Path(filename).resolve()
            inside = str(path).startswith(self.root + "/")
            if inside:
                parts = path.relative_to(self.root).parts
                inside = not ("site-packages" in parts or ".venv" in parts or parts[0] == "offline")
            self._program_files[filename] = str(path.relative_to(self.root)) if inside else None
        return self._program_files[filename]

    def _is_program_file(self, filename: str) -> bool:
        return self._relative(filename) is not None

    # --- refusals ---------------------------------------------------------------------------

    def duplicate_urn_error(self, urn: str, registrations: list[tuple[str, str]]) -> DuplicateUrnError:
        """`registrations`: (parent URN, source path:line) of each registration of `urn`."""
        _, _, qualified_type, name = urn.split("::", 3)
        type_ = qualified_type.rsplit("$", 1)[-1]
        lines = [
            f"duplicate resource URN {urn}: the program registers it {len(registrations)} times, "
            'and the Pulumi engine refuses the run ("Duplicate resource URN").'
        ]
        for number, (parent, source) in enumerate(registrations, 1):
            where = f" at {self.relative(source)}" if source else ""
            lines.append(f"  {number}. {type_} {name!r} under {_describe_urn(parent)}{where}")
        lines.append(
            "Give each resource its own name (names are derived from the component name: pass distinct names)."
        )
        return DuplicateUrnError("\n".join(lines))

    def output_formatted_error(self, error: BaseException) -> OutputFormattedError:
        frames = traceback.extract_tb(error.__traceback__)
        program = [f for f in frames if self._is_program_file(f.filename)]
        where = ""
        if program:
            last = program[-1]
            where = f" at {self._relative(last.filename)}:{last.lineno} (`{(last.line or '').strip()}`)"
        output = _output_of(error.__traceback__)
        origin = self._origin(output) if output is not None else ""
        return OutputFormattedError(
            f"an Output{origin} is formatted into a string{where}: the text would hold a warning instead of the "
            "value, and `pulumi up` would send it to the cloud API. Build the string with "
            '`pulumi.Output.format("serviceAccount:{0}", account.email)`, `Output.concat(...)` or `.apply(...)`.'
        )

    def _origin(self, output: Any) -> str:
        """` of <type> '<name>' (its `<attribute>`)` for the resource holding `output`."""
        from pulumi import Resource

        for candidate in gc.get_objects():
            if isinstance(candidate, Resource):
                for attribute, value in vars(candidate).items():
                    if value is output:
                        type_, name = getattr(candidate, "_type", ""), getattr(candidate, "_name", "")
                        return f" of {type_} {name!r} (its `{attribute}`)"
        return ""


def _describe_urn(urn: str) -> str:
    if not urn or urn.split("::")[2] == "pulumi:pulumi:Stack":
        return "the stack"
    _, _, qualified_type, name = urn.split("::", 3)
    return f"{qualified_type.rsplit('$', 1)[-1]} {name!r}"


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
