"""The traffic profile: every usage assumption an estimate rests on, with its default.

Given as command options or a YAML file (keys as below, snake_case); every value is printed
with the estimate, so a reader sees what the total assumes. A wrong key or value is refused
naming the key and what it takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The pooling lab's measured cache hit rate (docs/pooling-lab.md: 93.5 % of lookups hit).
POOLING_LAB_CACHE_HIT_RATE = 0.935
# The roadmap's target cost of one API request, in USD.
ROADMAP_COST_PER_REQUEST = 0.0006


class ProfileError(ValueError):
    """A traffic profile value is wrong; the message names the key and what it takes."""


class TrafficProfile(BaseModel):
    """Usage the graph cannot show. Defaults describe a modest production month."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_month: int = Field(default=10_000_000, ge=0, description="API requests a month.")
    mean_duration_ms: float = Field(
        default=120.0, gt=0, description="Mean duration of a request that misses the cache (reads the database)."
    )
    cache_hit_rate: float = Field(
        default=POOLING_LAB_CACHE_HIT_RATE,
        ge=0,
        le=1,
        description="Share of requests the cache answers (default: the pooling lab's measured 93.5 %).",
    )
    cache_hit_duration_ms: float = Field(default=8.0, gt=0, description="Mean duration of a request the cache answers.")
    queries_per_request: float = Field(
        default=3.0, ge=0, description="Database queries of a request that misses the cache."
    )
    request_kb: float = Field(default=2.0, ge=0, description="Mean request size in kB (load balancer data processed).")
    response_kb: float = Field(
        default=8.0, ge=0, description="Mean response size in kB (load balancer data processed)."
    )
    concurrency_utilization: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="Share of a service's max concurrency in use when it scales out (busy instances = load / this).",
    )
    spans_per_request: float = Field(default=5.0, ge=0, description="Trace spans a traced request produces.")
    metric_series_per_instance: int = Field(
        default=500, ge=0, description="Prometheus series one scraped instance exposes."
    )
    scrape_interval_s: float = Field(default=30.0, gt=0, description="Managed Prometheus scrape interval.")
    deploys_per_month: int = Field(
        default=20, ge=0, description="Deploys a month: runs of unscheduled jobs (migrations)."
    )
    job_run_seconds: float = Field(default=30.0, gt=0, description="Mean duration of one job task run.")
    backup_change_ratio: float = Field(
        default=0.05, ge=0, le=1, description="Share of the disk one incremental Cloud SQL backup adds."
    )
    log_gib_per_month_per_bucket: float = Field(
        default=2.0, ge=0, description="Logs a declared log bucket receives a month (GiB)."
    )
    registry_gb_per_repository: float = Field(
        default=5.0, ge=0, description="Images an Artifact Registry repository holds."
    )
    bucket_gib_per_bucket: float = Field(default=1.0, ge=0, description="Data a Cloud Storage bucket holds (GiB).")
    secret_accesses_per_month_per_secret: int = Field(
        default=3_000, ge=0, description="Reads of one secret a month (instance starts, job runs)."
    )
    nat_gib_per_month: float = Field(default=10.0, ge=0, description="Egress through Cloud NAT a month (GiB).")
    pubsub_gib_per_month_per_topic: float = Field(
        default=10.0, ge=0, description="Messages published to a topic (GiB)."
    )
    bigquery_gib_per_table: float = Field(default=50.0, ge=0, description="Active storage of a BigQuery table (GiB).")
    bigquery_scanned_tib_per_month_per_table: float = Field(
        default=0.1, ge=0, description="Data queries scan in a table a month (TiB)."
    )
    uptime_checker_regions: int = Field(
        default=6, ge=1, description="Regions an uptime check runs from when the check does not list them."
    )

    @property
    def mean_duration_with_cache_ms(self) -> float:
        """Hits take the hit duration, misses the full one: h*hit + (1-h)*miss."""
        hit = self.cache_hit_rate
        return hit * self.cache_hit_duration_ms + (1 - hit) * self.mean_duration_ms

    def assumptions(self) -> list[tuple[str, Any, str]]:
        """Every value with its description, in declaration order, for printing."""
        return [(name, getattr(self, name), field.description or "") for name, field in type(self).model_fields.items()]


def _errors(error: ValidationError, origin: str) -> str:
    lines = []
    for issue in error.errors():
        key = ".".join(str(part) for part in issue["loc"]) or "(profile)"
        if issue["type"] == "extra_forbidden":
            known = ", ".join(TrafficProfile.model_fields)
            lines.append(f"{origin}: unknown key {key!r}; the profile takes: {known}")
        else:
            lines.append(f"{origin}: {key}: {issue['msg']}")
    return "\n".join(lines)


def build_profile(values: dict[str, Any], origin: str = "traffic profile") -> TrafficProfile:
    try:
        return TrafficProfile.model_validate(values)
    except ValidationError as error:
        raise ProfileError(_errors(error, origin)) from None


def load_profile(path: Path, overrides: dict[str, Any] | None = None) -> TrafficProfile:
    """A YAML mapping of profile keys; command-line overrides win."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except yaml.YAMLError as error:
        raise ProfileError(f"{path}: not valid YAML ({error})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping of profile keys, e.g. requests_per_month: 10000000")
    return build_profile({**data, **(overrides or {})}, origin=str(path))
