"""A corpus of malformed stack files, each run through the real command (`omni preview`) as a
user would: every one exits 2 before any resource is declared, names the key(s) to change, shows
no Python traceback and never echoes a secret.

Each case is a small edit to one of the real stack files (dotted paths under their namespace key,
values as YAML), or a whole file for what the YAML reader itself refuses. Every file also carries
an encrypted PagerDuty token whose ciphertext must never appear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from offline.stackfile import SECRET_PLACEHOLDER

from .conftest import ROOT

runner = CliRunner()
PLANTED_CIPHERTEXT = "v1:AAABBBPLANTEDCIPHERTEXT/omni+secret=="
PLANTED_PLAINTEXT = "pd-PLANTED-plaintext-token-0123456789"
DELETE = object()


@dataclass(frozen=True)
class Case:
    id: str
    stack: str
    expected: tuple[str, ...]
    """Words the error must contain: the key(s) named, and the reason."""
    edits: dict[str, Any] = field(default_factory=dict)
    """`namespace:key.path` -> value (YAML text is parsed, so `"1"` stays a string)."""
    raw: Callable[[str], str] | None = None
    """The whole stack file, from the real one, where an edit cannot express the defect."""


def edits(**paths: Any) -> dict[str, Any]:
    return paths


CASES = [
    # --- Google's naming and size rules, refused under the key that sets them ---------------------
    Case(
        "bucket-goog-prefix",
        "dev",
        ("omni-infra:statusPage.bucket", "cannot start with `goog`"),
        {"omni-infra:statusPage.bucket": "goog-status"},
    ),
    Case(
        "bucket-contains-google",
        "dev",
        ("omni-infra:statusPage.bucket", "cannot contain `google`"),
        {"omni-infra:statusPage.bucket": "omni-google-status"},
    ),
    Case(
        "bucket-misspelt-google",
        "dev",
        ("omni-infra:statusPage.bucket", "close misspelling"),
        {"omni-infra:statusPage.bucket": "omni-g00gle-status"},
    ),
    Case(
        "bucket-ip-address",
        "dev",
        ("omni-infra:statusPage.bucket", "IP address"),
        {"omni-infra:statusPage.bucket": "192.168.10.1"},
    ),
    Case(
        "bucket-too-short",
        "dev",
        ("omni-infra:statusPage.bucket", "3 to 63 characters"),
        {"omni-infra:statusPage.bucket": "ab"},
    ),
    Case(
        "bucket-too-long",
        "dev",
        ("omni-infra:statusPage.bucket", "3 to 63 characters"),
        {"omni-infra:statusPage.bucket": "s" * 64},
    ),
    Case(
        "bucket-dotted",
        "dev",
        ("omni-infra:statusPage.bucket", "verified domain"),
        {"omni-infra:statusPage.bucket": "status.omni.example"},
    ),
    Case(
        "bucket-upper-case",
        "dev",
        ("omni-infra:statusPage.bucket", "lowercase letters"),
        {"omni-infra:statusPage.bucket": "Omni_Status"},
    ),
    Case(
        "project-builds-goog-bucket",
        "dev",
        ("gcp:project", "omni-infra:statusPage.bucket", "'goog-omni-dev-status'"),
        {"gcp:project": "goog-omni-dev"},
    ),
    Case(
        "project-contains-google", "dev", ("gcp:project", "cannot contain 'google'"), {"gcp:project": "omni-google-dev"}
    ),
    Case("project-too-short", "dev", ("gcp:project", "should match pattern"), {"gcp:project": "omni"}),
    Case(
        "too-many-labels",
        "dev",
        ("omni-infra:labels", "60 labels", "59 at most"),
        {"omni-infra:labels": {f"extra{i}": "x" for i in range(60)}},
    ),
    Case(
        "label-key-upper-case",
        "dev",
        ("omni-infra:labels", "label key 'Team'"),
        {"omni-infra:labels": {"Team": "core"}},
    ),
    Case(
        "label-key-starts-with-digit",
        "dev",
        ("omni-infra:labels", "label key '1team'"),
        {"omni-infra:labels": {"1team": "core"}},
    ),
    Case(
        "label-key-too-long", "dev", ("omni-infra:labels", "1 to 63 characters"), {"omni-infra:labels": {"k" * 64: "v"}}
    ),
    Case(
        "label-value-with-space",
        "dev",
        ("omni-infra:labels", "label value 'Core Team'"),
        {"omni-infra:labels": {"squad": "Core Team"}},
    ),
    Case(
        "label-value-too-long",
        "dev",
        ("omni-infra:labels", "at most 63 characters"),
        {"omni-infra:labels": {"squad": "v" * 64}},
    ),
    Case(
        "tier-odd-vcpus",
        "prod",
        ("omni-infra:database.tier", "1 vCPU or an even number", "not 3"),
        {"omni-infra:database.tier": "db-custom-3-16384"},
    ),
    Case(
        "tier-memory-not-256-multiple",
        "dev",
        ("omni-infra:database.tier", "multiple of 256 MB"),
        {"omni-infra:database.tier": "db-custom-1-3000"},
    ),
    Case(
        "tier-memory-per-vcpu-too-high",
        "staging",
        ("omni-infra:database.tier", "0.9 to 6.5 GB per vCPU"),
        {"omni-infra:database.tier": "db-custom-2-999936"},
    ),
    Case(
        "tier-below-minimum-memory",
        "staging",
        ("omni-infra:database.tier", "3840 MB"),
        {"omni-infra:database.tier": "db-custom-2-3584"},
    ),
    Case(
        "tier-too-many-vcpus",
        "prod",
        ("omni-infra:database.tier", "up to 96"),
        {"omni-infra:database.tier": "db-custom-98-409600"},
    ),
    Case(
        "tier-not-postgres",
        "prod",
        ("omni-infra:database.tier", "not a Cloud SQL for PostgreSQL machine type"),
        {"omni-infra:database.tier": "db-n1-standard-2"},
    ),
    Case(
        "cron-out-of-range",
        "dev",
        ("omni-infra:statusPage.schedule", "bad minute"),
        {"omni-infra:statusPage.schedule": "99 25 * * *"},
    ),
    Case(
        "cron-zero-step",
        "dev",
        ("omni-infra:statusPage.schedule", "steps above 0"),
        {"omni-infra:statusPage.schedule": "*/0 * * * *"},
    ),
    Case(
        "cron-last-day",
        "dev",
        ("omni-infra:statusPage.schedule", "Cloud Scheduler does not take"),
        {"omni-infra:statusPage.schedule": "0 0 L * *"},
    ),
    Case(
        "cron-words",
        "dev",
        ("omni-infra:statusPage.schedule", "five unix-cron fields"),
        {"omni-infra:statusPage.schedule": "every minute"},
    ),
    Case(
        "cron-six-fields",
        "dev",
        ("omni-infra:statusPage.schedule", "five unix-cron fields"),
        {"omni-infra:statusPage.schedule": "0 * * * * *"},
    ),
    Case(
        "cron-lower-case-month",
        "dev",
        ("omni-infra:statusPage.schedule", "upper case"),
        {"omni-infra:statusPage.schedule": "0 0 1 jan *"},
    ),
    Case(
        "cron-reversed-range",
        "dev",
        ("omni-infra:statusPage.schedule", "bad hour"),
        {"omni-infra:statusPage.schedule": "0 23-1 * * *"},
    ),
    Case(
        "service-account-id-too-long",
        "staging",
        ("omni-infra:namePrefix", "Google allows 30"),
        {"omni-infra:namePrefix": "omniplatform"},
    ),
    Case(
        "name-prefix-starts-with-digit",
        "dev",
        ("omni-infra:namePrefix", "should match pattern"),
        {"omni-infra:namePrefix": "9omni"},
    ),
    # --- what the components would refuse, refused by the config model first ------------------------
    Case(
        "api-cpu-with-large-collector",
        "dev",
        ("omni-infra:api.cpu", "omni-infra:tracing.collectorMemory", "leaving the app 250m"),
        {"omni-infra:api.cpu": "1", "omni-infra:tracing.collectorMemory": "1Gi"},
    ),
    Case(
        "workers-memory-above-one-vcpu",
        "dev",
        ("omni-infra:workers.cpu", "omni-infra:workers.memory", "Cloud Run takes 512Mi to 4Gi"),
        {"omni-infra:workers.cpu": "1", "omni-infra:workers.memory": "4Gi"},
    ),
    Case(
        "workers-cpu-with-large-collector",
        "staging",
        ("omni-infra:workers.cpu", "omni-infra:tracing.collectorMemory"),
        {"omni-infra:workers.cpu": "1", "omni-infra:tracing.collectorMemory": "1Gi"},
    ),
    Case(
        "api-memory-beside-collectors",
        "prod",
        ("omni-infra:api.cpu", "omni-infra:api.memory", "below 1 vCPU at most 1024Mi"),
        {"omni-infra:api.cpu": "1", "omni-infra:api.memory": "2Gi"},
    ),
    Case(
        "api-memory-range",
        "prod",
        ("omni-infra:api.cpu", "omni-infra:api.memory", "Cloud Run takes 2048Mi to 16Gi"),
        {"omni-infra:api.cpu": "4", "omni-infra:api.memory": "512Mi"},
    ),
    Case(
        "api-min-above-max",
        "dev",
        ("omni-infra:api.minInstances", "omni-infra:api.maxInstances"),
        {"omni-infra:api.minInstances": 3},
    ),
    Case("grafana-memory", "dev", ("omni-infra:grafana.memory", "1Gi or less"), {"omni-infra:grafana.memory": "2Gi"}),
    Case(
        "grafana-min-above-max",
        "dev",
        ("omni-infra:grafana.minInstances", "omni-infra:grafana.maxInstances"),
        {"omni-infra:grafana.minInstances": 3},
    ),
    Case(
        "shared-core-ha",
        "staging",
        ("omni-infra:database.tier", "omni-infra:database.availability", "shared-core"),
        {"omni-infra:database.tier": "db-g1-small"},
    ),
    Case(
        "edition-tier-mismatch",
        "prod",
        ("omni-infra:database.tier", "omni-infra:database.edition"),
        {"omni-infra:database.edition": "ENTERPRISE_PLUS"},
    ),
    Case(
        "pooling-needs-enterprise-plus",
        "prod",
        ("omni-infra:database.managedPooling", "omni-infra:database.edition"),
        {"omni-infra:database.managedPooling": True},
    ),
    Case(
        "log-retention-above-edition",
        "prod",
        ("omni-infra:database.logRetentionDays", "omni-infra:database.edition", "at most 7 days"),
        {"omni-infra:database.logRetentionDays": 14},
    ),
    Case(
        "backups-not-above-logs",
        "staging",
        ("omni-infra:database.retainedBackups", "omni-infra:database.logRetentionDays"),
        {"omni-infra:database.retainedBackups": 5, "omni-infra:database.logRetentionDays": 7},
    ),
    Case(
        "replicas-on-basic",
        "dev",
        ("omni-infra:redis.cache.readReplicas", "omni-infra:redis.cache.tier"),
        {"omni-infra:redis.cache.readReplicas": 1},
    ),
    Case(
        "replicas-on-small-cache",
        "prod",
        ("omni-infra:redis.cache.readReplicas", "omni-infra:redis.cache.memorySizeGb"),
        {"omni-infra:redis.cache.memorySizeGb": 1},
    ),
    Case(
        "connection-budget",
        "prod",
        ("omni-infra:api.maxInstances", "omni-infra:database.maxConnections", "connection budget does not fit"),
        {"omni-infra:api.maxInstances": 100},
    ),
    Case(
        "grafana-connection-budget",
        "dev",
        ("omni-infra:grafana.maxInstances", "omni-infra:grafana.dbPoolSize", "does not fit Grafana"),
        {"omni-infra:grafana.maxInstances": 10, "omni-infra:grafana.dbPoolSize": 20},
    ),
    Case(
        "scrape-interval-too-short",
        "dev",
        ("omni-infra:metrics.scrapeInterval", "outside 10s to 5m"),
        {"omni-infra:metrics.scrapeInterval": "5s"},
    ),
    Case(
        "status-release-latest",
        "dev",
        ("omni-infra:statusPage.release", "`latest` moves between images"),
        {"omni-infra:statusPage.release": "latest"},
    ),
    Case(
        "release-latest",
        "dev",
        ("omni-infra:release", "`latest` moves between images"),
        {"omni-infra:release": "latest"},
    ),
    Case(
        "sampling-zero",
        "dev",
        ("omni-infra:tracing.samplingRatio", "tracing.enabled"),
        {"omni-infra:tracing.samplingRatio": 0},
    ),
    Case("unknown-nested-key", "dev", ("omni-infra:api.cpus", "unknown key"), {"omni-infra:api.cpus": "2"}),
    Case(
        "wrong-type", "dev", ("omni-infra:workers.instances", "valid integer"), {"omni-infra:workers.instances": "many"}
    ),
    # --- prod's floor -------------------------------------------------------------------------------
    Case(
        "prod-zonal-database",
        "prod",
        ("omni-infra:database.availability", "REGIONAL"),
        {"omni-infra:database.availability": "ZONAL"},
    ),
    Case(
        "prod-basic-cache",
        "prod",
        ("omni-infra:redis.cache.tier", "STANDARD_HA"),
        {"omni-infra:redis.cache.tier": "BASIC", "omni-infra:redis.cache.readReplicas": 0},
    ),
    Case(
        "prod-basic-broker",
        "prod",
        ("omni-infra:redis.broker.tier", "the queued tasks"),
        {"omni-infra:redis.broker.tier": "BASIC"},
    ),
    Case(
        "prod-audit-one-day",
        "prod",
        ("omni-infra:audit.retentionDays", "at least 365 days"),
        {"omni-infra:audit.retentionDays": 1},
    ),
    Case(
        "prod-audit-364-days",
        "prod",
        ("omni-infra:audit.retentionDays", "not 364"),
        {"omni-infra:audit.retentionDays": 364},
    ),
    Case(
        "prod-pitr-one-day",
        "prod",
        ("omni-infra:database.logRetentionDays", "point-in-time recovery"),
        {"omni-infra:database.logRetentionDays": 1},
    ),
    Case(
        "prod-few-backups",
        "prod",
        ("omni-infra:database.retainedBackups", "omni-infra:database.logRetentionDays", "daily backups"),
        {"omni-infra:database.retainedBackups": 5, "omni-infra:database.logRetentionDays": 3},
    ),
    Case(
        "prod-paging-off",
        "prod",
        ("omni-infra:alerting.pagerduty.enabled", "prod must page"),
        {"omni-infra:alerting.pagerduty.enabled": False},
    ),
    Case(
        "prod-audit-unlocked",
        "prod",
        ("omni-infra:audit.locked", "prod keeps its audit logs locked"),
        {"omni-infra:audit.locked": False},
    ),
    Case(
        "prod-unprotected", "prod", ("omni-infra:protect", "prod must keep protect true"), {"omni-infra:protect": False}
    ),
    Case(
        "prod-low-urgency",
        "prod",
        ("omni-infra:alerting.pagerduty.urgency", "high urgency"),
        {"omni-infra:alerting.pagerduty.urgency": "low"},
    ),
    Case(
        "prod-claims-staging",
        "prod",
        ("omni-infra:environment", "the prod stack must be the prod environment"),
        {"omni-infra:environment": "staging"},
    ),
    # --- secrets: refused without their value ---------------------------------------------------------
    Case("plain-text-token", "prod", ("pagerduty:token", "must be encrypted"), {"pagerduty:token": PLANTED_PLAINTEXT}),
    Case(
        "secret-where-none-belongs",
        "dev",
        ("omni-infra:namePrefix", "not a secret"),
        {"omni-infra:namePrefix": {"secure": PLANTED_CIPHERTEXT}},
    ),
    Case(
        "secret-inside-a-section",
        "dev",
        ("omni-infra:alerting", "not a secret"),
        {"omni-infra:alerting.ticketEmail": {"secure": PLANTED_CIPHERTEXT}},
    ),
    # A refusal of the whole config (the connection budget) never reprints it, secrets included.
    Case(
        "secret-label-and-budget",
        "dev",
        ("omni-infra:labels", "not a secret", "omni-infra:grafana.maxInstances", "does not fit Grafana"),
        {
            "omni-infra:labels.owner": {"secure": PLANTED_CIPHERTEXT},
            "omni-infra:grafana.maxInstances": 10,
            "omni-infra:grafana.dbPoolSize": 20,
        },
    ),
    # --- the YAML reader ----------------------------------------------------------------------------
    Case(
        "duplicate-section",
        "prod",
        # A second `omni-infra:api` would silently turn prod's `minInstances: 2` into 0.
        ("omni-infra:api", "written twice, at lines 9 and 11"),
        raw=lambda text: text.replace(
            "  omni-infra:workers:\n", "  omni-infra:api:\n    minInstances: 0\n  omni-infra:workers:\n"
        ),
    ),
    Case(
        "duplicate-nested-key",
        "prod",
        ("omni-infra:api.minInstances", "written twice, at lines 10 and 11"),
        raw=lambda text: text.replace("    minInstances: 2\n", "    minInstances: 2\n    minInstances: 0\n"),
    ),
    Case(
        "duplicate-config",
        "dev",
        ("config", "written twice"),
        raw=lambda text: text + "config:\n  gcp:project: elsewhere\n",
    ),
    Case(
        "alias-count",
        "dev",
        ("(stack file)", "more than 16 YAML aliases"),
        raw=lambda text: text + "  omni-infra:labels: &l {a: b}\n" + "".join(f"  x{i}: *l\n" for i in range(17)),
    ),
    Case(
        "alias-expansion",
        "dev",
        ("(stack file)", "expand to more than 10000 values"),
        raw=lambda text: (
            text
            + "  a: &a ["
            + ", ".join(["x"] * 200)
            + "]\n  b: &b ["
            + ", ".join(["*a"] * 8)
            + "]\n  c: ["
            + ", ".join(["*b"] * 8)
            + "]\n"
        ),
    ),
    Case(
        "oversized-file", "dev", ("(stack file)", "1024 KiB at most"), raw=lambda text: text + ("# padding\n" * 120_000)
    ),
    Case(
        "malformed-yaml",
        "dev",
        ("(stack file)", "malformed YAML at line"),
        raw=lambda text: text + "  omni-infra:api: [\n",
    ),
    Case("not-utf8", "dev", ("(stack file)", "not UTF-8"), raw=lambda text: text + "  # caf\xe9\n"),
    Case(
        "not-a-mapping",
        "dev",
        ("(stack file)", "a mapping with a `config:` section"),
        raw=lambda text: "- just\n- a list\n",
    ),
    Case("unknown-namespace", "dev", ("omni-infr:api", "unknown config namespace"), {"omni-infr:api": {"cpu": "2"}}),
    Case("provider-setting", "dev", ("gcp:zone", "explicit provider ignores"), {"gcp:zone": "europe-west1-b"}),
    Case("missing-project", "dev", ("gcp:project", "(missing)"), {"gcp:project": DELETE}),
]


def edited_stack_file(text: str, case: Case) -> bytes:
    if case.raw is not None:
        return case.raw(text).encode("latin-1" if case.id == "not-utf8" else "utf-8")
    document = yaml.safe_load(text)
    config = document["config"]
    for path, value in case.edits.items():
        top, _, rest = path.partition(".")
        if not rest:
            if value is DELETE:
                config.pop(top)
            else:
                config[top] = value
            continue
        holder = config.setdefault(top, {})
        *parents, leaf = rest.split(".")
        for part in parents:
            holder = holder.setdefault(part, {})
        holder[leaf] = value
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")


def with_planted_secret(text: str) -> str:
    """Every stack file carries an encrypted token: its ciphertext must never be echoed."""
    return text.replace("config:\n", f"config:\n  pagerduty:token:\n    secure: {PLANTED_CIPHERTEXT}\n", 1)


@pytest.fixture
def corpus_project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_bytes((ROOT / "Pulumi.yaml").read_bytes())
    (tmp_path / "__main__.py").write_bytes((ROOT / "__main__.py").read_bytes())
    (tmp_path / "stacks").mkdir()
    return tmp_path


def test_the_corpus_covers_every_class_with_sixty_files_or_more():
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_malformed_stack_file_exits_2_naming_the_key_without_traceback_or_secret(corpus_project, case):
    original = with_planted_secret((ROOT / "stacks" / f"Pulumi.{case.stack}.yaml").read_text(encoding="utf-8"))
    (corpus_project / "stacks" / f"Pulumi.{case.stack}.yaml").write_bytes(edited_stack_file(original, case))
    result = runner.invoke(app, ["preview", "--stack", case.stack, "-C", str(corpus_project)])
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output, output
    assert "the program failed" not in output, output
    assert "no resource was declared" in output, output
    for words in case.expected:
        assert words in output, f"{words!r} missing from:\n{output}"
    for secret in (PLANTED_CIPHERTEXT, PLANTED_PLAINTEXT, "PLANTED", SECRET_PLACEHOLDER):
        assert secret not in output, output
    # A fix names real keys, never a placeholder for several.
    assert "several keys" not in output, output
    assert "pulumi config set 'omni-infra" not in output, output
