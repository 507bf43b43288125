"""The status page's infrastructure, as every stack declares it: uptime checks, the public
bucket, and the job Cloud Scheduler runs every minute with least privilege."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.rules import rule_groups
from components.status_page import StatusPageArgs, api_host, check_schedule
from offline.engine import run_stack
from statuspage.model import PUBLIC_COMPONENTS
from statuspage.notices import NoticeError
from statuspage.sources.gcp import COMPONENT_LABEL

from .conftest import STACKS, edit_stack_file, resources

CHECK = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"
PROJECT_ROLE = "gcp:projects/iAMMember:IAMMember"
SCHEDULER = "gcp:cloudscheduler/job:Job"
JOB_INVOKER = "gcp:cloudrunv2/jobIamMember:JobIamMember"
RUN_JOB = "gcp:cloudrunv2/job:Job"


def under_status_page(graph: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in resources(graph, type_) if r["name"].startswith(f"omni-{graph['stack']}-status-")]


@pytest.mark.parametrize("stack", STACKS)
def test_every_public_component_has_an_https_uptime_check_on_the_api_host(applied, stack):
    graph = applied[stack]
    checks = {r["inputs"]["userLabels"][COMPONENT_LABEL]: r["inputs"] for r in under_status_page(graph, CHECK)}
    assert set(checks) == {component.id for component in PUBLIC_COMPONENTS}
    # Behind the edge (staging, prod), through the API's custom domain, as users do.
    api_uri = graph["outputs"].get("edge_urls", {}).get("api") or graph["outputs"]["api_url"]
    for component in PUBLIC_COMPONENTS:
        check = checks[component.id]
        assert check["httpCheck"]["path"] == component.check_path
        assert check["httpCheck"]["useSsl"] is True
        assert check["httpCheck"]["validateSsl"] is True
        assert check["monitoredResource"] == {
            "type": "uptime_url",
            "labels": {"host": api_host(api_uri), "project_id": graph["outputs"]["project"]},
        }
        assert check["period"] == "60s"


@pytest.mark.parametrize("stack", STACKS)
def test_uptime_failures_alert_through_the_existing_rule_and_no_second_policy(graphs, stack):
    # The rule evaluator runs UptimeCheckFailing with every other rule; Cloud Monitoring keeps
    # only the dead man's switch, so an uptime failure never opens a second incident there.
    alerts = [alert.name for group in rule_groups() for alert in group.alerts]
    assert alerts.count("UptimeCheckFailing") == 1
    policies = [r["inputs"]["displayName"] for r in resources(graphs[stack], "gcp:monitoring/alertPolicy:AlertPolicy")]
    assert "UptimeCheckFailing" not in policies


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_site_bucket_is_public_and_only_for_reading_objects_by_name(graphs, stack):
    graph = graphs[stack]
    public = [r for r in resources(graph, BUCKET_IAM) if r["inputs"]["member"] in ("allUsers", "allAuthenticatedUsers")]
    # The API reference's public bucket is the portal's (tests/test_portal.py).
    public = [r for r in public if not r["name"].endswith("-reference-site-public")]
    # `storage.objects.get` only: `objectViewer` would also let anyone list every object name.
    assert [(r["name"], r["inputs"]["role"]) for r in public] == [
        (f"omni-{stack}-status-site-public", "roles/storage.legacyObjectReader")
    ]
    (bucket,) = under_status_page(graph, BUCKET)
    assert bucket["inputs"]["uniformBucketLevelAccess"] is True
    assert bucket["protect"] is (stack != "dev")


@pytest.mark.parametrize("stack", STACKS)
def test_the_publisher_may_read_monitoring_and_write_its_bucket_nothing_else(applied, stack):
    graph = applied[stack]
    member = f"serviceAccount:omni-{stack}-status-pub@omni-api-{stack}.iam.gserviceaccount.com"
    project_roles = sorted(
        r["inputs"]["role"] for r in resources(graph, PROJECT_ROLE) if r["inputs"]["member"] == member
    )
    bucket_roles = sorted(
        (r["inputs"]["bucket"], r["inputs"]["role"])
        for r in resources(graph, BUCKET_IAM)
        if r["inputs"]["member"] == member
    )
    assert project_roles == ["roles/monitoring.viewer"]
    assert bucket_roles == [(f"omni-api-{stack}-status", "roles/storage.objectUser")]
    (job,) = [r for r in resources(graph, RUN_JOB) if r["name"] == f"omni-{stack}-status-publish-job"]
    assert job["inputs"]["template"]["template"]["serviceAccount"] == member.removeprefix("serviceAccount:")


@pytest.mark.parametrize("stack", STACKS)
def test_cloud_scheduler_runs_the_job_every_minute_as_an_account_that_can_only_run_it(applied, stack):
    graph = applied[stack]
    (schedule,) = [r for r in resources(graph, SCHEDULER) if r["name"] == f"omni-{stack}-status-schedule"]
    trigger = f"omni-{stack}-status-run@omni-api-{stack}.iam.gserviceaccount.com"
    assert schedule["inputs"]["schedule"] == "* * * * *"
    target = schedule["inputs"]["httpTarget"]
    assert (
        target["uri"]
        == f"https://run.googleapis.com/v2/projects/omni-api-{stack}/locations/europe-west1/jobs/omni-{stack}-status-publish:run"
    )
    assert target["oauthToken"]["serviceAccountEmail"] == trigger
    # Every grant the trigger holds (the usage pipeline's schedules have a trigger of their own).
    invokers = [r["inputs"] for r in resources(graph, JOB_INVOKER)]
    grants = [g for g in invokers if g["member"] == f"serviceAccount:{trigger}"] + [
        r["inputs"] for r in resources(graph, PROJECT_ROLE) if r["inputs"]["member"] == f"serviceAccount:{trigger}"
    ]
    assert grants == [
        {
            "location": "europe-west1",
            "member": f"serviceAccount:{trigger}",
            "name": f"omni-{stack}-status-publish",
            "project": f"omni-api-{stack}",
            "role": "roles/run.invoker",
        }
    ]


def test_turning_the_status_page_off_removes_it(project_copy):
    edit_stack_file(
        project_copy,
        "dev",
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:statusPage:\n    enabled: false",
    )
    graph = run_stack(project_copy, "dev").to_json()
    assert not [r for r in graph["resources"] if r["name"].startswith("omni-dev-status")]
    assert "status_page_url" not in graph["outputs"]


def test_a_malformed_notice_stops_the_deploy_naming_the_file():
    with pytest.raises(NoticeError, match=r"statuspage/incidents/oops\.yaml: kind"):
        StatusPageArgs(
            project="p",
            region="europe-west1",
            api_uri="https://x",
            image=None,
            network_id="n",
            subnet_id="s",
            bucket="b-status",
            notices={"oops": "title: x\nkind: outage\ncomponents: [api]\nupdates: []\n"},
        )


def test_the_schedule_must_be_five_cron_fields():
    assert check_schedule("*/5 * * * *") == "*/5 * * * *"
    with pytest.raises(ValueError, match="five unix-cron fields"):
        check_schedule("every minute")


def test_every_type_the_status_page_declares_is_known_to_the_diff(graphs):
    from offline.replacements import FORCE_NEW

    types = {
        r["type"] for r in graphs["prod"]["resources"] if r["name"].startswith("omni-prod-status") and r.get("custom")
    }
    assert {CHECK, SCHEDULER, JOB_INVOKER} <= types
    assert sorted(t for t in types if t not in FORCE_NEW) == []
