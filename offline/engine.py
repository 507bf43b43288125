"""Run the real `__main__.py` for one stack in-process, with no CLI, plugins, state or cloud.

The run mirrors what the Pulumi language host does for `pulumi preview`: the stack's config
is put into the runtime (secrets as placeholders), the program runs inside a root Stack
resource, and every registration reaches a monitor, here one that records the graph.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import os
import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from stackconfig.location import STACK_FILE_GLOB, stack_config_dir, stack_file_name, stack_of
from stackconfig.model import DEFAULT_REGION

from .declarations import Declarations, DuplicateUrnError, find_output_to_string
from .graph import Graph
from .monitor import RecordingMonitor
from .outputs import ComputedOutputs
from .sdk_stack_trace import first_frame_only
from .stackfile import read_stack_file

T = TypeVar("T")
OUTPUT_STRING_FLAG = "PULUMI_ERROR_OUTPUT_STRING"


@dataclass(frozen=True)
class Project:
    """The parts of Pulumi.yaml the engine needs."""

    root: Path
    name: str
    stack_config_dir: Path
    main: Path

    @classmethod
    def load(cls, root: Path) -> Project:
        manifest = root / "Pulumi.yaml"
        if not manifest.is_file():
            raise FileNotFoundError(f"{manifest} not found: run omni from the project's root or pass --project-dir")
        data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not data.get("name"):
            raise FileNotFoundError(f"{manifest} has no project `name`: add `name: omni-infra`")
        main = root / str(data.get("main") or "__main__.py")
        return cls(root=root, name=str(data["name"]), stack_config_dir=stack_config_dir(root, data), main=main)

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / stack_file_name(stack)

    def stacks(self) -> list[str]:
        return sorted(stack_of(path) for path in self.stack_config_dir.glob(STACK_FILE_GLOB))


def run_stack(project: Project, stack: str, *, preview: bool = True, monitor: RecordingMonitor | None = None) -> Graph:
    """The resource graph `__main__.py` declares for `stack`.

    Raises `stackconfig.StackConfigError` for bad config (the program checks it before
    declaring anything), `declarations.ProgramRefused` for what the real engine or the cloud
    would refuse (a duplicate URN, an Output formatted into a string, an input the provider's
    schema rejects), and re-raises whatever else the program raises. Pass a `monitor` to see
    what was registered even when the run fails.
    """
    values, secret_keys = read_stack_file(project.stack_file(stack))
    if monitor is None:
        monitor = new_monitor(values, preview)
    declarations = Declarations(project.root)
    context = contextvars.copy_context()
    try:
        context.run(_run_program, project, stack, monitor, values, secret_keys, preview)
    except Exception as error:
        formatted = find_output_to_string(error)
        if formatted is not None:
            raise declarations.output_formatted_error(formatted) from None
        duplicate = _duplicate_urn(monitor, declarations)
        if duplicate is not None:
            raise duplicate from error
        raise
    duplicate = _duplicate_urn(monitor, declarations)
    if duplicate is not None:
        raise duplicate
    graph = Graph(
        stack=stack,
        project=project.name,
        resources=monitor.recorded,
        outputs=monitor.stack_outputs,
        simulated_invokes=None if preview else sorted(monitor.stand_ins),
    )
    from .validation import validate_graph  # reads the provider facts once per process

    validate_graph(graph)
    return graph


def _duplicate_urn(monitor: RecordingMonitor, declarations: Declarations) -> DuplicateUrnError | None:
    for urn, registrations in monitor.duplicates.items():
        return declarations.duplicate_urn_error(urn, registrations)
    return None


def new_monitor(values: dict[str, str], preview: bool = True) -> RecordingMonitor:
    """A recording monitor whose stand-in outputs use the stack's project and region."""
    outputs = ComputedOutputs(
        project=values.get("gcp:project", ""), region=values.get("gcp:region", DEFAULT_REGION), preview=preview
    )
    return RecordingMonitor(outputs)


def _run_program(
    project: Project,
    stack: str,
    monitor: RecordingMonitor,
    values: dict[str, str],
    secret_keys: set[str],
    preview: bool,
) -> None:
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.stack import run_in_stack

    settings.ROOT.set(None)
    # A whole new settings object, as the language host makes for each run: the SDK's mock
    # settings would carry over the previous run's pending Outputs and package references.
    fresh: Any = settings.Settings(
        project=project.name,
        stack=stack,
        monitor=monitor,
        engine=mocks.MockEngine(logging.getLogger("omni.offline.engine")),
        dry_run=preview,
        organization="organization",
        root_directory=str(project.root),
    )
    # Set after construction, as the SDK's own set_mocks does (a context property).
    fresh.monitor_features = set(monitor.GetDeploymentInfo(None).supportedFeatures)
    settings.configure(fresh)
    set_all_config(values, sorted(secret_keys))
    root = str(project.root)
    if root not in sys.path:
        sys.path.insert(0, root)

    async def program() -> None:
        runpy.run_path(str(project.main), run_name="__main__")
        await _settle_outputs()

    loop = asyncio.new_event_loop()
    # The recording monitor answers at once and never waits on the loop, so registrations run
    # inline, in order, instead of hopping through a thread pool: faster and repeatable.
    loop.set_default_executor(_InlineExecutor())
    loop.set_exception_handler(_log_loop_error)
    # The SDK then raises on `str(output)` instead of warning and sending the warning's text
    # to the cloud, which is what `pulumi up` would do with it.
    previous = os.environ.get(OUTPUT_STRING_FLAG)
    os.environ[OUTPUT_STRING_FLAG] = "1"
    try:
        with first_frame_only():
            loop.run_until_complete(run_in_stack(program))
    finally:
        if previous is None:
            os.environ.pop(OUTPUT_STRING_FLAG, None)
        else:
            os.environ[OUTPUT_STRING_FLAG] = previous
        # Mirror the language host: cancel what a failed program left pending, then close.
        for task in asyncio.all_tasks(loop):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                loop.run_until_complete(task)
        loop.close()


async def _settle_outputs() -> None:
    """Let every Output the program created settle, one `gather` per round.

    The SDK's own wait (`wait_for_rpcs`) re-subscribes to every pending Output each time one
    completes, which is quadratic in the number of resources; after this it finds nothing
    left to wait for. Failed Outputs stay tracked by the SDK, which raises their errors.
    """
    from pulumi.runtime.settings import SETTINGS

    runtime: Any = SETTINGS  # its fields are context properties that type checkers cannot see
    while True:
        with runtime.lock:
            pending = [task for task in runtime.outputs if not task.done()]
        if not pending:
            return
        await asyncio.gather(*pending, return_exceptions=True)


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each submitted call immediately in the calling thread (asyncio only accepts a
    ThreadPoolExecutor as the default executor; no thread is ever started)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # The program's own error is raised by run_in_stack; what the loop reports while the
    # remaining tasks are cancelled is noise around it.
    logging.getLogger("omni.offline.engine").debug("event loop: %s", context.get("message"))
