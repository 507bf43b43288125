"""`omni dashboards`: render, list and lint the Grafana dashboards.

Exit codes: 0 success, 1 lint findings, 2 bad input (an invalid stack config, an unreadable file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.console import fail

app = typer.Typer(help="Grafana dashboards as code: render, list, lint.", no_args_is_help=True)

ProjectDir = Annotated[
    Path, typer.Option("--project-dir", "-C", help="Root of the Pulumi project (where Pulumi.yaml is).")
]
StackOption = Annotated[
    str | None, typer.Option("--stack", "-s", help="Stack whose config sets per-stack thresholds (default dev).")
]


@app.command()
def render(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write one <uid>.json per dashboard into.")],
    stack: StackOption = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write every dashboard as deterministic JSON (sorted keys), one file per dashboard; exit 2
    without writing when a panel reads a series the stack does not produce."""
    from offline.dashboards import write_dashboards
    from offline.producers import UnproducedSeriesError
    from stackconfig import StackConfigError

    try:
        paths = write_dashboards(out, stack, project_dir)
    except (StackConfigError, UnproducedSeriesError) as error:
        fail(str(error))
    for path in paths:
        typer.echo(str(path))
    typer.echo(f"wrote {len(paths)} dashboards to {out}")


@app.command("list")
def list_dashboards() -> None:
    """Show every dashboard's uid, title and the question it answers."""
    from dashboards.registry import DASHBOARDS

    width = max(len(spec.uid) for spec in DASHBOARDS)
    for spec in DASHBOARDS:
        typer.echo(f"{spec.uid:<{width}}  {spec.title}: {spec.question}")


@app.command()
def lint(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Lint the *.json dashboards in this directory instead of rendering them.", show_default=False
        ),
    ] = None,
    stack: StackOption = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Check every panel and query against the dashboard-linter rule set (see docs/dashboards.md)."""
    from dashboards.lint import lint_directory
    from offline.dashboards import lint_rendered
    from stackconfig import StackConfigError

    try:
        findings = lint_directory(directory) if directory else lint_rendered(stack, project_dir)
    except (StackConfigError, ValueError) as error:
        fail(str(error))
    for finding in findings:
        typer.echo(str(finding))
    source = str(directory) if directory else f"the rendered dashboards of stack {stack or 'dev'}"
    if findings:
        typer.echo(f"{len(findings)} findings in {source}")
        raise typer.Exit(code=1)
    typer.echo(f"no findings in {source}")
