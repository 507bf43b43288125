"""`omni alerts`: render the Prometheus rules and Alertmanager configuration, and test them."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.console import err, out

app = typer.Typer(help="Alert rules as code: render and test with promtool and amtool.", no_args_is_help=True)


OutOption = Annotated[Path, typer.Option("--out", help="Directory for rules/, tests/ and alertmanager.yml.")]


def _render(out_dir: Path) -> list[Path]:
    from alerts.render import write_all
    from alerts.validate import AlertRuleError

    try:
        return write_all(out_dir)
    except AlertRuleError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", markup=True)
        raise typer.Exit(code=2) from None


@app.command()
def render(out_dir: OutOption = Path("out/alerts")) -> None:
    """Validate the rules, then write the rule files, alertmanager.yml and the promtool tests."""
    for path in _render(out_dir):
        out.print(f"wrote {path}", markup=False)


@app.command("list")
def list_alerts() -> None:
    """Every alert: name, severity, `for`, group."""
    from alerts.rules import rule_groups

    for group in rule_groups():
        for alert in group.alerts:
            out.print(f"{alert.name:<36} {alert.severity.value:<8} for {alert.for_:<4} {group.name}", markup=False)


@app.command()
def test(
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Render here and keep the files (default: a temporary directory).")
    ] = None,
) -> None:
    """Lint the rules, render them, then run promtool check/test rules and amtool check-config and route tests.

    Exit code 0 when every check passes, 1 when one fails, 2 when the rules are invalid or a tool is missing.
    """
    from alerts.tools import ToolMissing, run_checks

    with tempfile.TemporaryDirectory(prefix="omni-alerts-") as scratch:
        target = out_dir or Path(scratch)
        _render(target)
        out.print("[green]✓[/] lint: names, severities, templated annotations, runbooks, PromQL, metrics", markup=True)
        try:
            results = run_checks(target)
        except ToolMissing as error:
            err.print(f"[bold red]error:[/] {escape(str(error))}", markup=True)
            raise typer.Exit(code=2) from None
    for result in results:
        mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
        out.print(f"{mark} {escape(result.check)}", markup=True)
        if not result.ok:
            out.print(result.output, markup=False)
    failed = sum(not result.ok for result in results)
    out.print(f"{len(results) - failed} passed, {failed} failed", markup=False)
    if failed:
        raise typer.Exit(code=1)
