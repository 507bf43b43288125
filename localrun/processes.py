"""Servers on 127.0.0.1, each in a temporary directory and a process group of its own.

Every server is a context manager: it starts the binary in its own process group, waits for
`/-/ready`, and on leaving the block (normally, on an error, on Ctrl-C) terminates the whole group,
kills it if it lingers, and deletes its directory. A server that fails to become ready is cleaned
up the same way and raises `ServerStartError` with the end of its log.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TypedDict

from localrun.ports import LOOPBACK, ensure_port_free, free_port

READY_TIMEOUT_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0


class ServerStartError(RuntimeError):
    """A server exited or never became ready; the message carries the end of its log."""


@dataclass(frozen=True)
class ServerSpec:
    """What to run and what its work directory starts with; the arguments come with `ManagedServer`."""

    name: str  # "prometheus", shown in messages
    binary: str
    package: str  # the Debian package that installs `binary`
    files: dict[str, str]  # file name in the work directory -> content
    port: int = 0  # 0: a free port
    trees: dict[str, Path] = field(default_factory=dict)  # directory in the work directory -> copied from
    # Commands run in the work directory before the server (PostgreSQL's initdb); {port} and
    # {dir} are filled in as in the server's arguments.
    prepare: tuple[tuple[str, ...], ...] = ()
    # None: ready once `GET /-/ready` answers 200 (Prometheus, Alertmanager); otherwise a probe
    # of the running server that returns True once it serves.
    ready: Callable[[ManagedServer], bool] | None = None
    # Under root, run the server (and `prepare`) as this user, owner of the work directory:
    # PostgreSQL and PgBouncer refuse to run as root. Ignored when the lab is not root.
    unprivileged_user: str | None = None
    environment: dict[str, str] = field(default_factory=dict)  # added to the lab's; {port} and {dir} filled in


class ManagedServer:
    """One server process: started by `__enter__`, gone with its directory after `__exit__`."""

    def __init__(self, spec: ServerSpec, arguments: list[str]):
        # `arguments` may use {port} and {dir}, filled in once both are known.
        self.spec = spec
        self._arguments = arguments
        self.port = 0
        self.directory = Path()
        self._process: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None  # kept after the stop, so callers can check the process is gone
        self._log_path = Path()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        if not os.access(self.spec.binary, os.X_OK):
            raise ServerStartError(f"{self.spec.binary} is missing: install the Debian package {self.spec.package}")
        self.port = self.spec.port or free_port()
        ensure_port_free(self.port, self.spec.name)
        self.directory = Path(tempfile.mkdtemp(prefix=f"omni-lab-{self.spec.name}-"))
        try:
            for name, content in self.spec.files.items():
                (self.directory / name).write_text(content, encoding="utf-8")
            for name, source in self.spec.trees.items():
                shutil.copytree(source, self.directory / name, dirs_exist_ok=True)
            self._log_path = self.directory / "server.log"
            identity = self._identity()
            if identity is not None:
                os.chown(self.directory, *identity)
            environment = {**os.environ, **{name: self._fill(value) for name, value in self.spec.environment.items()}}
            for step in self.spec.prepare:
                self._prepare(step, identity, environment)
            command = [self.spec.binary] + [self._fill(argument) for argument in self._arguments]
            with self._log_path.open("ab") as log:
                # A process group of its own: the terminal's Ctrl-C reaches only the lab, which
                # then stops the server in order; and killing the group leaves no grandchild.
                self._process = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.directory,
                    start_new_session=True,
                    env=environment,
                    **_as_user(identity),
                )
            self.pid = self._process.pid
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _fill(self, argument: str) -> str:
        return argument.format(port=self.port, dir=self.directory)

    def _identity(self) -> tuple[int, int] | None:
        """(uid, gid) of `unprivileged_user` under root; None: run as the lab itself."""
        if self.spec.unprivileged_user is None or os.geteuid() != 0:
            return None
        try:
            account = pwd.getpwnam(self.spec.unprivileged_user)
        except KeyError:
            raise ServerStartError(
                f"{self.spec.name} must not run as root and there is no user "
                f"{self.spec.unprivileged_user!r} to run it as"
            ) from None
        return account.pw_uid, account.pw_gid

    def _prepare(self, step: tuple[str, ...], identity: tuple[int, int] | None, environment: dict[str, str]) -> None:
        with self._log_path.open("ab") as log:
            finished = subprocess.run(
                [self._fill(argument) for argument in step],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.directory,
                env=environment,
                check=False,
                **_as_user(identity),
            )
        if finished.returncode != 0:
            raise ServerStartError(
                f"{self.spec.name}: `{' '.join(step)}` failed with code {finished.returncode}:\n" + self.log_tail()
            )

    def _http_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        probe = self.spec.ready or ManagedServer._http_ready
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ServerStartError(
                    f"{self.spec.name} exited with code {self._process.returncode} before it was ready:\n"
                    + self.log_tail()
                )
            if probe(self):
                return
            time.sleep(0.1)
        raise ServerStartError(
            f"{self.spec.name} was not ready on {self.url} after {READY_TIMEOUT_SECONDS:.0f} s:\n" + self.log_tail()
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Terminate the process group, kill it after a grace period, remove the directory."""
        process, self._process = self._process, None
        if process is not None:
            stop_process_group(process, STOP_GRACE_SECONDS)
        if self.directory != Path() and self.directory.exists():
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> ManagedServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _UserArguments(TypedDict):
    user: int | None
    group: int | None
    extra_groups: list[int] | None


def _as_user(identity: tuple[int, int] | None) -> _UserArguments:
    """Popen's arguments that drop root for `identity`, with none of root's supplementary groups."""
    if identity is None:
        return {"user": None, "group": None, "extra_groups": None}
    return {"user": identity[0], "group": identity[1], "extra_groups": []}


def stop_process_group(process: subprocess.Popen[bytes], grace_seconds: float) -> None:
    """Stop a process started with `start_new_session` and everything it started: SIGTERM to the
    group (so it can clean up and write what it owes), SIGKILL if it lingers past the grace."""
    if process.poll() is not None:
        return
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()


def _signal_group(pid: int, signal_number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal_number)  # the group's id is the leader's pid (start_new_session)
