"""A cheaper source position for each registration, for the SDK version it was read from.

For every resource the SDK (`pulumi.runtime.resource._get_stack_trace`, pulumi 3.272) extracts
the whole Python stack and turns every frame into a file URI; the engine uses only the first
frame outside the SDK (the request's `sourcePosition`, which the offline engine reads to name
the line that declared a duplicate URN). Extracting the full trace costs about a tenth of a
stack's run. While the offline engine runs, this module answers with that one frame, found the
way the SDK finds it (the caller of the third `__init__` up the stack: Resource, then
Custom/ComponentResource, then the concrete class). Any other SDK version keeps its own code.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

READ_FOR = "3.272.0"


def _first_program_frame() -> Any:
    from pulumi.runtime.proto import source_pb2

    frame = sys._getframe(2)  # skip this function and the SDK's caller-facing shim
    inits = 0
    while frame is not None:
        if frame.f_code.co_name == "__init__":
            inits += 1
            if inits == 3:
                frame = frame.f_back
                break
        frame = frame.f_back
    if frame is None:
        return source_pb2.StackTrace()
    uri = Path(frame.f_code.co_filename).as_uri() if frame.f_code.co_filename.startswith("/") else ""
    position = source_pb2.SourcePosition(uri=uri, line=frame.f_lineno) if uri else None
    return source_pb2.StackTrace(frames=[source_pb2.StackFrame(pc=position)])


@lru_cache(maxsize=1)
def _sdk_version() -> str:
    return version("pulumi")


@contextlib.contextmanager
def first_frame_only() -> Iterator[None]:
    """While inside, registrations carry only the program's own frame (pulumi 3.272 only)."""
    from pulumi.runtime import resource

    if _sdk_version() != READ_FOR:
        yield
        return
    original = resource._get_stack_trace
    resource._get_stack_trace = lambda: _first_program_frame()
    try:
        yield
    finally:
        resource._get_stack_trace = original
