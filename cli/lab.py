"""`omni lab`: local labs on 127.0.0.1 with real servers (alerts MTTD)."""

from __future__ import annotations

import gc
from datetime import UTC
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from cli.console import err, fail, finish, out, run_long

if TYPE_CHECKING:
    from lab.alerts_lab import LabResult

app = typer.Typer(help="Local labs with real Prometheus and Alertmanager on 127.0.0.1.", no_args_is_help=True)


@app.command()
def alerts(
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", "-S", help="A scenario to run (repeatable); default: all of them."),
    ] = None,
    healthy_seconds: Annotated[
        float, typer.Option(help="Run the healthy control stack at least this long, counting false pages.")
    ] = 600.0,
    baseline_seconds: Annotated[
        float | None,
        typer.Option(
            help="Healthy traffic before the faults are injected (default 180 s, 30 s with --quick): the "
            "Watchdog's first heartbeat must have reached the switch."
        ),
    ] = None,
    timeout_per_scenario: Annotated[
        float, typer.Option(help="Give up on a scenario's page or ticket after this many seconds.")
    ] = 660.0,
    history_hours: Annotated[
        float,
        typer.Option(help="Healthy history each Prometheus starts with; 0 starts cold (long windows then act short)."),
    ] = 6.0,
    quick: Annotated[
        bool,
        typer.Option(
            help="CI mode: sample every 5 s with no ingestion or notification delay, no dead man's switch scenarios."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Inject faults into a demo service under production's alerting path and time each page (MTTD).

    Starts Prometheus, Alertmanager, a demo service and local PagerDuty and webhook receivers on
    127.0.0.1, all stopped when the run ends. Exit code 0 when every scenario met its target with
    no false page, 1 otherwise, 2 when the lab could not run.
    """
    gc.enable()  # a run of minutes: the collector `omni` turns off for short commands is wanted here
    from lab.alerts_lab import PRODUCTION_TIMING, QUICK_SCENARIOS, QUICK_TIMING, SCENARIOS, run_alerts_lab
    from localrun.ports import PortInUseError
    from localrun.processes import ServerStartError

    by_name = {s.name: s for s in SCENARIOS}
    unknown = [name for name in scenario or [] if name not in by_name]
    if unknown:
        fail(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(by_name)}")
    chosen = tuple(by_name[name] for name in scenario) if scenario else (QUICK_SCENARIOS if quick else SCENARIOS)
    result = run_long(
        lambda: run_alerts_lab(
            chosen,
            baseline_seconds=baseline_seconds if baseline_seconds is not None else (30.0 if quick else 180.0),
            healthy_seconds=healthy_seconds,
            timeout_per_scenario=timeout_per_scenario,
            history_seconds=round(history_hours * 3600),
            timing=QUICK_TIMING if quick else PRODUCTION_TIMING,
            on_progress=lambda line: err.print(line, markup=False),
        ),
        expected=(PortInUseError, ServerStartError, ValueError),
        interrupted="every server the lab started is stopped",
    )
    finish(result, _print_result, as_json)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _print_result(result: LabResult) -> None:
    from rich.table import Table

    timeout = result.settings.get("timeout_per_scenario", 0)
    table = Table(title="Time from fault to page (MTTD)")
    columns = (
        "scenario",
        "expected (any of)",
        "detected by",
        "severity",
        "MTTD",
        "target",
        "result",
        "then joined",
        "incidents",
        "resolved after",
    )
    for column in columns:
        right = column in ("MTTD", "target", "resolved after", "incidents")
        table.add_column(column, justify="right" if right else "left")
    for row in result.scenarios:
        verdict = "[green]pass[/]" if row.passed else "[red]FAIL[/]"
        joined = sorted(row.later_alerts_seconds.items(), key=lambda kv: kv[1])
        later = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in joined)
        table.add_row(
            escape(row.scenario),
            escape(", ".join(row.expected_alerts)),
            escape(row.detected_by or "-"),
            row.severity,
            _seconds(row.mttd_seconds) if row.mttd_seconds is not None else f"[red]none in {timeout:.0f} s[/]",
            f"< {row.target_seconds:.0f} s",
            verdict,
            escape(later or "-"),
            str(row.incidents),
            _seconds(row.resolved_seconds),
        )
    out.print(table)
    settings = result.settings
    out.print(
        f"scrape and evaluation every {settings.get('scrape_interval')}, ingestion delay "
        f"{settings.get('ingestion_delay_seconds', 0):g} s, notification delay "
        f"{settings.get('notification_delay_seconds', 0):g} s "
        "(included in every MTTD)",
        markup=False,
    )
    out.print(f"healthy period: {result.healthy_seconds:.0f} s, false pages: {len(result.false_pages)}", markup=False)
    alive = sum(count > 0 for count in result.watchdog_heartbeats.values())
    out.print(f"watchdog heartbeats: {alive} of {len(result.watchdog_heartbeats)} stacks delivered one", markup=False)
    for page in result.false_pages:
        alerts = ", ".join(page.alerts) or "(no known alert named)"
        out.print(f"  false page from {page.stack} at {page.at_seconds:+.1f} s: {alerts} ({page.reason})", markup=False)
    verdict = "[green]every target met[/]" if result.passed else "[red]targets missed[/]"
    out.print(f"{verdict} in {result.duration_seconds:.0f} s", markup=True)


if TYPE_CHECKING:
    from lab.pooling_model import PoolingLabResult


@app.command()
def pooling(
    users: Annotated[int, typer.Option(help="Concurrent users of each run.")] = 200,
    duration: Annotated[int, typer.Option(help="Seconds of measured load per run (four runs).")] = 40,
    warmup: Annotated[
        int, typer.Option(help="Seconds over which the users arrive, before the measurement; 0: all at once.")
    ] = 10,
    out_dir: Annotated[
        str | None, typer.Option("--out", help="Directory of results.json, report.html and Locust's reports.")
    ] = None,
    pool_size: Annotated[int, typer.Option(help="PgBouncer's server connections (transaction pooling).")] = 20,
    item_query_ms: Annotated[
        float, typer.Option(help="What an uncached item read costs the database, in milliseconds.")
    ] = 25.0,
    postgres_port: Annotated[int, typer.Option(help="PostgreSQL's port; 0: a free one.")] = 0,
    pgbouncer_port: Annotated[int, typer.Option(help="PgBouncer's port; 0: a free one.")] = 0,
    redis_port: Annotated[int, typer.Option(help="Redis's port; 0: a free one.")] = 0,
    api_port: Annotated[int, typer.Option(help="The reference API's port; 0: a free one.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Measure connection pooling and caching: direct vs PgBouncer, cache off vs on.

    Starts PostgreSQL, PgBouncer and Redis (Debian's packages) and a reference API on 127.0.0.1,
    drives it with the Locust suite in four runs (users arrive over the warm-up, then the load is
    measured), prints one table and writes an HTML report.
    Everything it started is stopped when it ends. Exit code 0 when every invariant holds
    (PgBouncer's pool bounds the server connections; the cache hits over 50% and halves p95),
    1 otherwise, 2 when the lab could not run.
    """
    gc.enable()  # minutes of run: the collector `omni` turns off for short commands is wanted here
    from datetime import datetime
    from pathlib import Path

    from lab.pooling_lab import run_pooling_lab
    from lab.pooling_model import LabPorts, PoolingLabInputError, PoolingLabSettings
    from loadtest.runner import LoadTestInputError, LoadTestRunError
    from localrun.ports import PortInUseError
    from localrun.processes import ServerStartError

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    settings = PoolingLabSettings(
        out_dir=Path(out_dir) if out_dir else Path("out") / "pooling-lab" / stamp,
        users=users,
        duration_seconds=duration,
        warmup_seconds=warmup,
        pool_size=pool_size,
        item_query_ms=item_query_ms,
        ports=LabPorts(postgres=postgres_port, pgbouncer=pgbouncer_port, redis=redis_port, api=api_port),
    )
    result = run_long(
        lambda: run_pooling_lab(settings, on_progress=lambda line: err.print(line, markup=False)),
        expected=(PoolingLabInputError, PortInUseError, ServerStartError, LoadTestInputError, LoadTestRunError),
        interrupted="every server the lab started is stopped",
    )
    finish(result, _print_pooling_result, as_json)


def _print_pooling_result(result: PoolingLabResult) -> None:
    from rich.table import Table

    settings = result.settings
    table = Table(title=f"Pooling and caching: {settings.users} users, {settings.duration_seconds} s per run")
    for column in ("run", "server connections (peak)", "p50", "p95", "throughput", "errors", "cache hit rate"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for run in result.runs:
        table.add_row(
            escape(run.plan.name),
            str(run.peak_server_connections),
            f"{run.p50_ms:.0f} ms",
            f"{run.p95_ms:.0f} ms",
            f"{run.requests_per_second:.1f} req/s",
            f"{run.failures} ({run.error_ratio:.2%})",
            "-" if run.hit_rate is None else f"{run.hit_rate:.1%}",
        )
    out.print(table)
    for invariant in result.invariants:
        mark = "[green]pass[/]" if invariant.passed else "[red]FAIL[/]"
        out.print(f"{mark} {escape(invariant.name)}: {escape(invariant.detail)}", markup=True)
    verdict = "[green]every invariant held[/]" if result.passed else "[red]an invariant failed[/]"
    out.print(f"{verdict} in {result.duration_seconds:.0f} s; report: {escape(str(result.html_report))}", markup=True)
