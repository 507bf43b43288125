"""`omni`: offline preview, snapshots, diff and checks of every stack.

Commands parse their options, call one library function and print. Exit codes: 0 success
(for `diff`: no changes), 1 changes found or checks failed, 2 bad input or a failed run.
"""

from __future__ import annotations

import atexit
import gc
import json
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from cli.console import fail, out

app = typer.Typer(
    name="omni",
    help="Offline preview, snapshots and diffs of the omni-infra Pulumi stacks (no cloud, no CLI, no state).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Sub-apps: each imports its heavy modules inside its commands, so `omni preview` stays fast.
from cli import alerts as alerts_cli  # noqa: E402
from cli import cost as cost_cli  # noqa: E402
from cli import dashboards as dashboards_cli  # noqa: E402
from cli import docs as docs_cli  # noqa: E402
from cli import lab as lab_cli  # noqa: E402
from cli import loadtest as loadtest_cli  # noqa: E402
from cli import statuspage as statuspage_cli  # noqa: E402

app.add_typer(dashboards_cli.app, name="dashboards")
app.add_typer(alerts_cli.app, name="alerts")
app.add_typer(lab_cli.app, name="lab")
app.add_typer(statuspage_cli.app, name="statuspage")
app.add_typer(loadtest_cli.app, name="loadtest")
app.add_typer(docs_cli.app, name="docs")
app.add_typer(cost_cli.app, name="cost")


ProjectDir = Annotated[
    Path, typer.Option("--project-dir", "-C", help="Root of the Pulumi project (where Pulumi.yaml is).")
]
StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")]


def _project(project_dir: Path):
    from offline.engine import Project

    try:
        return Project.load(project_dir.resolve())
    except (FileNotFoundError, KeyError) as error:
        fail(str(error))


class RunFailed(Exception):
    """The program could not produce a graph; the message says why and what to do."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        # "invalid config", "names Google would refuse", "refused as Pulumi or Google would", "the program failed"
        self.reason = reason


def _try_graph_json(project, stack: str, preview: bool = True) -> dict:
    """Run the program for one stack; every expected failure becomes a `RunFailed`."""
    from offline import graph_cache

    cached = graph_cache.load(project.root, stack, preview)
    if cached is not None:
        return cached

    from offline.declarations import ProgramRefused
    from offline.engine import run_stack
    from offline.name_checks import NameCheckError, raise_for_names
    from stackconfig import StackConfigError

    try:
        graph = run_stack(project, stack, preview=preview).to_json()
        raise_for_names(graph)  # Google's naming rules, on whatever the components built
        graph_cache.store(project.root, stack, preview, graph)
        return graph
    except StackConfigError as error:
        raise RunFailed(str(error), "invalid config") from None
    except NameCheckError as error:
        raise RunFailed(str(error), "names Google would refuse") from None
    except ProgramRefused as error:
        # What Pulumi or Google would refuse: the message names the resource and the line.
        raise RunFailed(f"stack {stack}: {error}", "refused as Pulumi or Google would") from None
    except Exception as error:
        trace = "".join(traceback.format_exception(error))
        message = f"{trace}the program failed for stack {stack}: {type(error).__name__}: {error}"
        raise RunFailed(message, "the program failed") from None


def _graph_json(project, stack: str, preview: bool = True) -> dict:
    """Run the program for one stack, or exit 2 with the reason."""
    try:
        return _try_graph_json(project, stack, preview)
    except RunFailed as error:
        fail(str(error))


def _stacks(project, stack: str | None, all_stacks: bool) -> list[str]:
    if all_stacks:
        return project.stacks()
    if not stack:
        fail("name a stack with --stack S, or use --all")
    return [stack]


@app.command()
def preview(
    stack: StackOption = "dev",
    as_json: Annotated[bool, typer.Option("--json", help="Print the recorded graph as JSON.")] = False,
    simulate_apply: Annotated[
        bool,
        typer.Option(
            "--simulate-apply",
            help="Resolve computed outputs with realistic stand-ins, as after `pulumi up`, instead of leaving "
            "them unknown.",
        ),
    ] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Show what `pulumi preview` would create for a stack, without credentials."""
    from offline.graph import dumps
    from offline.preview import render_preview_text

    graph = _graph_json(_project(project_dir), stack, preview=not simulate_apply)
    if as_json:
        sys.stdout.write(dumps(graph))
    else:
        out.print(render_preview_text(graph), markup=False, end="")


@app.command()
def snapshot(
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="One stack.")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Every stack in the stack config directory.")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write snapshots/<stack>.json (deterministic) for review in pull requests."""
    from offline.graph import dumps
    from offline.snapshots import write_snapshot

    if stack and all_stacks:
        fail("use either --stack S or --all, not both")
    project = _project(project_dir)
    for name in _stacks(project, stack, all_stacks or stack is None):
        path, changed = write_snapshot(project, name, dumps(_graph_json(project, name)))
        out.print(f"{'updated' if changed else 'unchanged'}  {path.relative_to(project.root)}", markup=False)


@app.command()
def diff(
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="One stack.")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Every stack, one report after another.")] = False,
    against: Annotated[
        Path | None,
        typer.Option("--against", help="A graph JSON file to compare with (default: the committed snapshot)."),
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option("--ref", help="Compare with the snapshot committed at this git ref (e.g. origin/main)."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text, markdown or json.")] = "text",
    project_dir: ProjectDir = Path("."),
) -> None:
    """Compare the program's graph now with a snapshot: creates, deletes, updates, replacements, danger.

    Exit code 0 when nothing changes, 1 when something does, 2 on error.
    """
    from offline.diff import compute_diff
    from offline.diff_render import (
        render_json,
        render_markdown,
        render_markdown_comment,
        render_text,
    )
    from offline.snapshots import read_graph_file, read_snapshot, read_snapshot_at_ref

    renderers = {"text": render_text, "markdown": render_markdown, "json": render_json}
    if output_format not in renderers:
        fail(f"--format must be one of {', '.join(renderers)}, not {output_format!r}")
    if against and ref:
        fail("use either --against FILE or --ref GITREF, not both")
    project = _project(project_dir)
    stacks = _stacks(project, stack, all_stacks)
    if against and len(stacks) > 1:
        fail("--against compares one stack: pass --stack")

    reports, graph_pairs = [], []
    for name in stacks:
        try:
            if ref:
                before = read_snapshot_at_ref(project, name, ref)
            else:
                before = read_graph_file(against) if against else read_snapshot(project, name)
        except (FileNotFoundError, ValueError) as error:
            fail(str(error))
        graph_pairs.append((before, _graph_json(project, name)))
        reports.append(compute_diff(*graph_pairs[-1]))
    cost_lines = cost_cli.diff_cost_lines(graph_pairs, markdown=output_format == "markdown")

    if output_format == "markdown" and all_stacks:
        # The pull-request comment: the danger of every stack first, then each stack's diff.
        sys.stdout.write(render_markdown_comment(reports, cost_lines=cost_lines))
    elif output_format == "json":
        payload = [json.loads(render_json(report)) for report in reports]
        sys.stdout.write(json.dumps(payload if len(payload) > 1 else payload[0], indent=2, sort_keys=True) + "\n")
    else:
        separator = "\n" if output_format == "text" else "\n\n"
        sys.stdout.write(separator.join(renderers[output_format](report).rstrip("\n") for report in reports) + "\n")
        sys.stdout.write(separator + "\n".join(cost_lines) + "\n")
    raise typer.Exit(code=1 if any(report.has_changes for report in reports) else 0)


@app.command()
def check(project_dir: ProjectDir = Path(".")) -> None:
    """Validate every stack's config, run the policy pack over its graph, and fail when a
    committed snapshot is stale or a mandatory policy is violated."""
    from offline.graph import dumps
    from offline.snapshots import snapshot_status
    from policy.rules import check_graph

    project = _project(project_dir)
    failures = 0
    for name in project.stacks():
        try:
            graph = _try_graph_json(project, name)
            fresh = dumps(graph)
        except RunFailed as error:
            failures += 1
            out.print(f"[red]✗[/] {name}: {error.reason}", markup=True)
            out.print(str(error), markup=False)
            continue
        status = snapshot_status(project, name, fresh)
        relative = status.path.relative_to(project.root)
        if status.state == "current":
            out.print(f"[green]✓[/] {name}: config valid, {relative} current", markup=True)
        else:
            failures += 1
            out.print(
                f"[red]✗[/] {name}: {relative} is {status.state}; run `omni snapshot --stack {name}` and commit it",
                markup=True,
            )
        policies = check_graph(graph)
        if not policies.passed:
            failures += 1
        mark = "[green]✓[/]" if policies.passed else "[red]✗[/]"
        out.print(
            f"{mark} {name}: policies: {policies.resources_checked} resources, "
            f"{len(policies.mandatory)} mandatory and {len(policies.advisory)} advisory violations",
            markup=True,
        )
        for violation in policies.violations:
            out.print(
                f"    {violation.enforcement.value} {violation.policy}: "
                f"{violation.type} {violation.name}: {violation.message}",
                markup=False,
            )
        budget = cost_cli.budget_warning(graph, cost_cli.estimate(graph))
        if budget:
            out.print(f"! {name}: cost: {budget}", markup=False)
    if failures:
        raise typer.Exit(code=1)


@app.command()
def build(
    stack: StackOption = "dev",
    out_dir: Annotated[Path, typer.Option("--out", help="Where the artifacts go.")] = Path("out"),
    project_dir: ProjectDir = Path("."),
) -> None:
    """The main job: print the stack's offline preview and write every artifact under OUT/<stack>/:
    the preview and graph, the dashboards, the alert rules with their tests, Alertmanager's
    configuration and the status page (demo data)."""
    from alerts.render import write_all as write_alerts
    from alerts.rules import rule_groups
    from alerts.validate import AlertRuleError
    from offline.dashboards import write_dashboards
    from offline.graph import dumps
    from offline.monitoring import load_alertmanager_yaml, load_monitoring_config
    from offline.preview import render_preview_text
    from offline.producers import UnproducedSeriesError, check_produced, producers_in_graph, rule_queries
    from stackconfig import StackConfigError
    from statuspage.build import render_status_page

    project = _project(project_dir)
    graph = _graph_json(project, stack)
    # The graph says who produces series: every panel and rule must read only what is produced.
    monitoring = load_monitoring_config(stack, project.root)
    producers = producers_in_graph(graph, monitoring)
    groups = rule_groups(monitoring)
    recorded = {rule.record for group in groups for rule in group.recording_rules}
    try:
        check_produced(stack, rule_queries(groups), producers, recorded)
    except UnproducedSeriesError as error:
        fail(str(error))
    target = out_dir / stack
    target.mkdir(parents=True, exist_ok=True)
    text = render_preview_text(graph)
    (target / "preview.txt").write_text(text, encoding="utf-8")
    (target / "graph.json").write_text(dumps(graph), encoding="utf-8")
    try:
        dashboards = write_dashboards(target / "dashboards", stack, project.root, producers)
    except UnproducedSeriesError as error:
        fail(str(error))
    status_page = render_status_page(target / "statuspage")
    try:
        alertmanager_yaml, _ = load_alertmanager_yaml(stack, project.root)
        alert_files = write_alerts(target / "alerts", groups, alertmanager_yaml=alertmanager_yaml)
    except (AlertRuleError, StackConfigError) as error:
        fail(str(error))
    out.print(text, markup=False, end="")
    out.print(f"\nwrote {target / 'preview.txt'} and {target / 'graph.json'}", markup=False)
    out.print(f"wrote {len(dashboards)} dashboards to {target / 'dashboards'}", markup=False)
    out.print(
        f"wrote {len(alert_files)} alerting files (rules, promtool tests, alertmanager.yml) to {target / 'alerts'}",
        markup=False,
    )
    out.print(f"wrote the status page ({len(status_page)} files, demo data) to {target / 'statuspage'}", markup=False)


def main() -> None:
    """The `omni` console script.

    A run loads the provider's modules (~200k long-lived objects) and exits within seconds:
    cyclic garbage collection during the run and the final collection at exit cost about
    0.75 s of a 1.7 s preview and free almost nothing. So the collector stays off and the exit
    skips it. A long-running command (a local lab, a server) calls `gc.enable()` first.
    """
    gc.disable()
    atexit.register(gc.freeze)
    app()


if __name__ == "__main__":
    main()
