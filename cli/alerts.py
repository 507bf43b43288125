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
StackOption = Annotated[
    str,
    typer.Option("--stack", "-s", help="Stack whose config sets the thresholds and selectors (dev, staging, prod)."),
]
ProjectDir = Annotated[
    Path, typer.Option("--project-dir", "-C", help="Root of the Pulumi project (where Pulumi.yaml is).")
]
DEFAULT_STACK = "prod"  # what pages; the lab measures it too


def _groups(stack: str, project_dir: Path):
    """The stack's rule groups, or exit 2 naming the stack file's problem."""
    from alerts.rules import rule_groups
    from offline.monitoring import load_monitoring_config
    from stackconfig import StackConfigError

    try:
        return rule_groups(load_monitoring_config(stack, project_dir))
    except StackConfigError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", markup=True)
        raise typer.Exit(code=2) from None


def _alertmanager(stack: str, project_dir: Path) -> tuple[str, bool]:
    """The stack's own Alertmanager configuration and whether it pages, or exit 2 naming the key."""
    from offline.monitoring import load_alertmanager_yaml
    from stackconfig import StackConfigError

    try:
        return load_alertmanager_yaml(stack, project_dir)
    except StackConfigError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", markup=True)
        raise typer.Exit(code=2) from None


def _render(out_dir: Path, stack: str, project_dir: Path) -> list[Path]:
    from alerts.render import write_all
    from alerts.validate import AlertRuleError

    groups = _groups(stack, project_dir)
    alertmanager_yaml, _ = _alertmanager(stack, project_dir)
    try:
        return write_all(out_dir, groups, alertmanager_yaml=alertmanager_yaml)
    except AlertRuleError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", markup=True)
        raise typer.Exit(code=2) from None


@app.command()
def render(
    out_dir: OutOption = Path("out/alerts"), stack: StackOption = DEFAULT_STACK, project_dir: ProjectDir = Path(".")
) -> None:
    """Validate the stack's rules, then write the rule files, the stack's alertmanager.yml (what its
    evaluator runs) and the promtool tests."""
    for path in _render(out_dir, stack, project_dir):
        out.print(f"wrote {path}", markup=False)


@app.command("list")
def list_alerts(stack: StackOption = DEFAULT_STACK, project_dir: ProjectDir = Path(".")) -> None:
    """Every alert of the stack: name, severity, `for`, group."""
    for group in _groups(stack, project_dir):
        for alert in group.alerts:
            out.print(f"{alert.name:<36} {alert.severity.value:<8} for {alert.for_:<4} {group.name}", markup=False)


@app.command()
def test(
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Render here and keep the files (default: a temporary directory).")
    ] = None,
    stack: StackOption = DEFAULT_STACK,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Lint the rules, render them, then run promtool check/test rules and amtool check-config and route tests.

    Exit code 0 when every check passes, 1 when one fails, 2 when the rules are invalid or a tool is missing.
    """
    from alerts.tools import ToolMissing, run_checks

    with tempfile.TemporaryDirectory(prefix="omni-alerts-") as scratch:
        target = out_dir or Path(scratch)
        _render(target, stack, project_dir)
        out.print("[green]✓[/] lint: names, severities, templated annotations, runbooks, PromQL, metrics", markup=True)
        try:
            _, paging = _alertmanager(stack, project_dir)
            results = run_checks(target, _groups(stack, project_dir), paging=paging)
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
