"""The `omni` command as a user runs it: exit codes, output, and the files it writes."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from typer.testing import CliRunner

from cli.main import app
from offline.graph import dumps

from .conftest import ROOT, edit_stack_file

runner = CliRunner()


def omni(*args: str):
    return runner.invoke(app, list(args))


def test_help_lists_every_command():
    result = omni("--help")
    assert result.exit_code == 0
    commands = ("preview", "snapshot", "diff", "check", "build")
    groups = ("dashboards", "alerts", "lab", "statuspage", "loadtest")
    for command in commands + groups:
        assert command in result.output


def test_every_group_lists_its_subcommands():
    expected = {
        "dashboards": ("render", "list", "lint"),
        "alerts": ("render", "list", "test"),
        "statuspage": ("render", "serve"),
        "loadtest": ("run",),
        "lab": ("alerts",),
    }
    for group, subcommands in expected.items():
        result = omni(group, "--help")
        assert result.exit_code == 0, result.output
        for subcommand in subcommands:
            assert subcommand in result.output, (group, subcommand)


def counts(graph) -> tuple[int, int]:
    """Resources the engine would create (the stack itself included) and how many are protected."""
    return len(graph["resources"]), sum(1 for r in graph["resources"] if r.get("protect"))


def test_preview_prints_the_tree_and_counts_like_pulumi_preview(graphs):
    result = omni("preview", "--stack", "prod", "-C", str(ROOT))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith(" +   pulumi:pulumi:Stack") and "omni-infra-prod" in line for line in lines)
    assert any("├─ omni:network:Network" in line for line in lines)
    assert any("│  ├─ gcp:compute/network:Network" in line and "[protected]" in line for line in lines)
    total, protected = counts(graphs["prod"])
    assert protected > 20  # the network, the database, the caches, secrets, buckets
    assert f"Resources: + {total} to create ({protected} protected)" in result.output


def test_preview_json_prints_the_documented_graph(graphs):
    result = omni("preview", "--stack", "dev", "--json", "-C", str(ROOT))
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["stack"] == "dev"
    assert data == graphs["dev"]
    first = data["resources"][0]
    assert {"urn", "type", "name", "parent", "dependencies", "protect", "inputs"} <= set(first)


def test_committed_snapshots_are_current():
    result = omni("check", "-C", str(ROOT))
    assert result.exit_code == 0, f"run `omni snapshot --all` and commit:\n{result.output}"
    assert result.output.count("✓") == 6  # per stack: config and snapshot, policies


def test_check_fails_on_a_stale_snapshot_naming_the_command(project_copy):
    edit_stack_file(project_copy, "dev", "flowLogsSampling: 0.1", "flowLogsSampling: 0.2")
    result = omni("check", "-C", str(project_copy.root))
    assert result.exit_code == 1
    assert "dev: snapshots/dev.json is stale; run `omni snapshot --stack dev`" in result.output


def test_check_fails_on_invalid_config(project_copy):
    edit_stack_file(project_copy, "staging", "omni-infra:environment: staging", "omni-infra:environment: stage")
    result = omni("check", "-C", str(project_copy.root))
    assert result.exit_code == 1
    assert "staging: invalid config" in result.output
    assert "omni-infra:environment: found 'stage'" in result.output


def test_snapshot_writes_deterministic_files(project_copy):
    edit_stack_file(project_copy, "dev", "flowLogsSampling: 0.1", "flowLogsSampling: 0.2")
    result = omni("snapshot", "--all", "-C", str(project_copy.root))
    assert result.exit_code == 0
    assert "updated  snapshots/dev.json" in result.output
    assert "unchanged  snapshots/prod.json" in result.output
    written = (project_copy.root / "snapshots" / "dev.json").read_text()
    assert '"flowSampling": 0.2' in written
    assert omni("snapshot", "--stack", "dev", "-C", str(project_copy.root)).output.startswith("unchanged")


def test_diff_without_changes_exits_zero():
    result = omni("diff", "--stack", "prod", "-C", str(ROOT))
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output


def test_diff_of_an_edited_stack_file_shows_the_change_and_its_danger(project_copy):
    edit_stack_file(
        project_copy,
        "staging",
        "omni-infra:environment: staging",
        "omni-infra:environment: staging\n  omni-infra:protect: false",
    )
    edit_stack_file(project_copy, "staging", "10.20.0.0/20", "10.20.0.0/19")
    result = omni("diff", "--stack", "staging", "-C", str(project_copy.root))
    assert result.exit_code == 1
    text = result.output
    assert text.index("DANGER") < text.index("ipCidrRange")
    assert "omni-staging-vpc: protection removed" in text
    assert '"10.20.0.0/20" => "10.20.0.0/19"' in text


def test_diff_markdown_puts_danger_before_anything_else(project_copy, graphs):
    edit_stack_file(
        project_copy,
        "staging",
        "omni-infra:environment: staging",
        "omni-infra:environment: staging\n  omni-infra:protect: false",
    )
    result = omni("diff", "--stack", "staging", "--format", "markdown", "-C", str(project_copy.root))
    assert result.exit_code == 1
    body = result.output.split("\n", 1)[1]
    assert body.lstrip().startswith("> [!CAUTION]")
    # Every protected resource loses `protect`; some also lose their provider-side deletion protection.
    removed = re.search(r"removes protection from (\d+) resources", body)
    assert removed
    assert int(removed.group(1)) >= counts(graphs["staging"])[1]


def test_diff_json_against_a_file(project_copy, tmp_path, graphs):
    before = json.loads(dumps(graphs["dev"]))
    before["resources"] = [r for r in before["resources"] if r["type"] != "gcp:compute/routerNat:RouterNat"]
    against = tmp_path / "before.json"
    against.write_text(dumps(before))
    result = omni("diff", "--stack", "dev", "--against", str(against), "--format", "json", "-C", str(project_copy.root))
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["counts"]["create"] == 1
    assert [r["name"] for r in report["resources"]] == ["omni-dev-nat"]


def test_diff_against_a_git_ref(project_copy, graphs):
    root = project_copy.root
    git = lambda *args: subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base", "--allow-empty")
    git("add", "-A")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "snapshots")
    edit_stack_file(project_copy, "dev", "flowLogsSampling: 0.1", "flowLogsSampling: 0.3")
    result = omni("diff", "--stack", "dev", "--ref", "HEAD", "-C", str(root))
    assert result.exit_code == 1, result.output
    assert "flowSampling" in result.output
    # At the first commit no snapshot existed: the stack is new, so everything is a create.
    new_stack = omni("diff", "--stack", "dev", "--ref", "HEAD~1", "-C", str(root))
    assert new_stack.exit_code == 1, new_stack.output
    assert f"Summary: {counts(graphs['dev'])[0]} to create" in new_stack.output
    bad_ref = omni("diff", "--stack", "dev", "--ref", "no-such-branch", "-C", str(root))
    assert bad_ref.exit_code == 2
    assert "no-such-branch is not a commit" in bad_ref.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("preview", "--stack", "qa"), "Pulumi.qa.yaml"),
        (("diff", "--stack", "dev", "--format", "html"), "--format must be one of text, markdown, json"),
        (("diff", "--stack", "dev", "--ref", "HEAD", "--against", "x.json"), "either --against FILE or --ref GITREF"),
        (("diff", "--stack", "dev", "--against", "/nonexistent.json"), "/nonexistent.json does not exist"),
        (("diff", "--stack", "qa"), "create it with `omni snapshot --stack qa`"),
        (("snapshot", "--stack", "dev", "--all"), "use either --stack S or --all"),
        (("diff",), "name a stack with --stack S, or use --all"),
    ],
)
def test_bad_input_exits_two_with_a_clear_message(args, message):
    result = runner.invoke(app, [*args, "-C", str(ROOT)])
    assert result.exit_code == 2
    assert message in result.output


def test_build_prints_the_preview_and_writes_artifacts(tmp_path):
    result = omni("build", "--stack", "dev", "--out", str(tmp_path), "-C", str(ROOT))
    assert result.exit_code == 0, result.output
    assert "Resources: +" in result.output
    assert (tmp_path / "dev" / "preview.txt").read_text().startswith("Previewing stack dev")
    assert json.loads((tmp_path / "dev" / "graph.json").read_text())["stack"] == "dev"


def test_a_failing_program_exits_two_with_its_traceback(make_project):
    project = make_project("raise ValueError('bad wiring')\n", "config:\n  gcp:project: probe-project\n", stack="dev")
    result = omni("preview", "-C", str(project.root))
    assert result.exit_code == 2
    assert "the program failed for stack dev: ValueError: bad wiring" in result.output
    assert "__main__.py" in result.output


def test_config_errors_reach_the_terminal_intact(project_copy):
    # Rich markup would eat `[a-z]` and `[secret]`: the message must arrive as written.
    edit_stack_file(
        project_copy, "dev", "omni-infra:environment: dev", "omni-infra:environment: dev\n  omni-infra:namePrefix: Omni"
    )
    result = omni("preview", "-C", str(project_copy.root))
    assert result.exit_code == 2
    assert "String should match pattern '^[a-z][a-z0-9-]{1,11}$'" in result.output


def test_check_reports_a_program_failure_apart_from_bad_config(project_copy):
    main = project_copy.root / "__main__.py"
    main.write_text(main.read_text() + "\nimport pulumi_gcp as gcp\ngcp.compute.get_network(name='default')\n")
    result = omni("check", "-C", str(project_copy.root))
    assert result.exit_code == 1
    assert "dev: the program failed" in result.output
    assert "gcp:compute/getNetwork:getNetwork" in result.output
