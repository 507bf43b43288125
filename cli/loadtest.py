"""`omni loadtest`: the Locust suite, run headless against a host, with a pass/fail verdict."""

from __future__ import annotations

import datetime
import gc
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.console import err, fail, finish, out, run_long

if TYPE_CHECKING:
    from loadtest.runner import LoadTestResult, Progress

app = typer.Typer(help="Load tests of the Omni API with Locust (suite in loadtest/).", no_args_is_help=True)


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Base URL of the API: https://api.example.com")],
    users: Annotated[int, typer.Option("--users", "-u", help="Peak number of concurrent users.")] = 10,
    spawn_rate: Annotated[float, typer.Option("--spawn-rate", "-r", help="Users started per second.")] = 2.0,
    duration: Annotated[str, typer.Option("--duration", "-t", help="Run time: 90s, 5m, 1h30m.")] = "1m",
    shape: Annotated[
        str | None, typer.Option(help="Load shape: ramp, spike or soak (default: a steady ramp-up to --users).")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Reports go to OUT/<UTC time>/.")] = Path("out/loadtest"),
    web_port: Annotated[
        int | None, typer.Option(help="Also serve Locust's web UI on 127.0.0.1:PORT to watch the run.")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="OMNI_LOADTEST_API_KEY", help="Sent as X-API-Key (or set OMNI_LOADTEST_API_KEY)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run the suite headless: progress while it runs, then the statistics and the report's path.

    Exit code 0 when p95 latency and the error ratio stay under their limits (500 ms, 1%), 1 when
    a limit is broken, 2 when the run could not start (bad input, unreachable host, taken port)
    or Locust failed.
    """
    gc.enable()  # a run of minutes: the collector `omni` turns off for short commands is wanted here
    from loadtest.config import SuiteSettings
    from loadtest.runner import (
        LoadTestInputError,
        LoadTestRunError,
        RunSettings,
        parse_duration,
        run_load_test,
    )

    try:
        seconds = parse_duration(duration)
    except ValueError as error:
        fail(f"--duration: {error}")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    settings = RunSettings(
        host=host,
        users=users,
        spawn_rate=spawn_rate,
        duration_seconds=seconds,
        report_dir=out_dir / stamp,
        shape=shape,
        web_port=web_port,
        suite=SuiteSettings(api_key=api_key),
    )
    result = run_long(
        lambda: run_load_test(settings, on_progress=_ProgressLines()),
        expected=(LoadTestInputError, LoadTestRunError),
        interrupted="Locust was stopped",
    )
    finish(result, _print_result, as_json)


class _ProgressLines:
    """One line a second on stderr: readable in a terminal and in a CI log alike."""

    def __init__(self) -> None:
        self.last_second = -1

    def __call__(self, progress: Progress) -> None:
        second = int(progress.elapsed_seconds)
        if second == self.last_second:
            return
        self.last_second = second
        line = f"{min(second, progress.duration_seconds):>5}/{progress.duration_seconds} s"
        sample = progress.sample
        if sample is not None:
            line += (
                f"  users {sample.users}  {sample.requests_per_second:.1f} req/s  p95 {sample.p95_ms:.0f} ms  "
                f"requests {sample.requests}  failures {sample.failures}"
            )
        err.print(line, markup=False)


def _print_result(result: LoadTestResult) -> None:
    table = Table(title="Load test", show_lines=False)
    for column in ("route", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "req/s"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for route in (*result.routes, result.total):
        table.add_row(
            f"{route.method} {route.name}".strip(),
            str(route.requests),
            str(route.failures),
            f"{route.p50_ms:.0f}",
            f"{route.p95_ms:.0f}",
            f"{route.p99_ms:.0f}",
            f"{route.requests_per_second:.1f}",
        )
    out.print(table)
    if result.passed:
        out.print("[green]passed[/]: p95 latency and error ratio under their limits", markup=True)
    else:
        out.print("[red]failed[/]:", markup=True)
        for reason in result.breaches:
            out.print(f"  - {reason}", markup=False)
    out.print(f"report: {result.html_report}", markup=False)
    out.print(f"csv:    {result.csv_prefix}_stats.csv (and _stats_history, _failures, _exceptions)", markup=False)
