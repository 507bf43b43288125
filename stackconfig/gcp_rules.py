"""Google Cloud's naming and size rules, as pure functions: each returns why Google would refuse
a value, or None when it would accept it.

The config model calls them so that a bad setting is refused naming its key, and
`offline/name_checks.py` calls them again on the recorded graph so that component code cannot
produce a name the API would refuse. Each rule cites the Google page it comes from.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import unicodedata
from collections.abc import Mapping

# https://cloud.google.com/storage/docs/buckets#naming
BUCKET_CHARACTERS = re.compile(r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$")
BUCKET_NAME_LENGTH = (3, 63)
DOTTED_BUCKET_NAME_MAX = 222  # names with dots: 222 in all, each dot-separated part 63 at most
# "Bucket names cannot begin with the goog prefix" and "cannot contain google or close
# misspellings, such as g00gle".
RESERVED_BUCKET_WORDS = re.compile(r"g[o0][o0]gle")

# https://cloud.google.com/resource-manager/docs/labels-overview#requirements
MAX_LABELS = 64
LABEL_TEXT_MAX = 63
LABEL_BYTES_MAX = 128

# Identity Platform tenants: a display name "must start with a letter and only consist of letters,
# digits and hyphens with 4-20 characters", as the Admin SDK checks it before calling
# projects.tenants.create (https://cloud.google.com/identity-platform/docs/multi-tenancy-managing-tenants,
# firebase/firebase-admin-python `firebase_admin/tenant_mgt.py`).
IDENTITY_TENANT_DISPLAY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{3,19}$")
# Identity Platform provider ids: "must start with 'saml.'" (or `oidc.`) "and can only have
# alphanumeric characters, hyphens, underscores or periods. The part after 'saml.' must also start
# with a lowercase letter, end with an alphanumeric character, and have at least 2 characters"
# (google_identity_platform_tenant_inbound_saml_config `name`, as pulumi-gcp 10.2 documents it).
IDENTITY_PROVIDER_ID = re.compile(r"^(saml|oidc)\.[a-z][A-Za-z0-9._-]*[A-Za-z0-9]$")

# https://cloud.google.com/sql/docs/postgres/instance-settings#machine-type-2ndgen and
# https://cloud.google.com/sql/docs/postgres/create-instance#machine-types: custom machine types
# take 1 vCPU or an even number up to 96, and 0.9 to 6.5 GB of memory per vCPU, in multiples of
# 256 MB, 3.75 GB (3840 MB) at least. GB here is 1024 MB (db-custom-1-3840 is 3.75 GB).
CUSTOM_TIER = re.compile(r"^db-custom-(?P<cpus>[0-9]+)-(?P<memory_mb>[0-9]+)$")
CUSTOM_TIER_MAX_VCPUS = 96
CUSTOM_TIER_MEMORY_STEP_MB = 256
CUSTOM_TIER_MIN_MEMORY_MB = 3840
CUSTOM_TIER_GB_PER_VCPU = (0.9, 6.5)
SHARED_CORE_TIERS = ("db-f1-micro", "db-g1-small")
# https://cloud.google.com/sql/docs/postgres/machine-series-overview: Enterprise Plus N2 machines.
PERF_OPTIMIZED_TIER = re.compile(r"^db-perf-optimized-N-(?P<cpus>[0-9]+)$")
PERF_OPTIMIZED_VCPUS = (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)

# https://cloud.google.com/iam/docs/service-accounts-create#creating: 6 to 30 characters,
# lowercase letters, digits and dashes, starting with a letter, not ending with a dash.
SERVICE_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# https://cloud.google.com/resource-manager/docs/creating-managing-projects#before_you_begin
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
RESTRICTED_PROJECT_WORDS = ("google", "null", "undefined", "ssl")
# RFC 1035 labels, which Compute Engine and most APIs name resources with:
# https://cloud.google.com/compute/docs/naming-resources#resource-name-format
RFC1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.services: the service id
# "must be 49 characters or less" (revision names add a suffix); jobs take 63.
CLOUD_RUN_SERVICE_NAME_MAX = 49
# https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets/create
SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# https://cloud.google.com/memorystore/docs/redis/reference/rest/v1/projects.locations.instances/create
REDIS_INSTANCE_ID = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$|^[a-z]$")
# https://cloud.google.com/artifact-registry/docs/repositories/create-repos
REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
# https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools/create
WORKLOAD_IDENTITY_ID = re.compile(r"^[a-z0-9-]{4,32}$")
# https://cloud.google.com/logging/docs/reference/v2/rest/v2/projects.locations.buckets/create
LOG_BUCKET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# https://cloud.google.com/logging/docs/reference/v2/rest/v2/projects.sinks
LOG_SINK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs
SCHEDULER_JOB_NAME = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
# https://cloud.google.com/pubsub/docs/create-topic#resource_names: 3 to 255 characters, starting
# with a letter; letters, digits, `-`, `.`, `_`, `~`, `%`, `+`; not starting with `goog`.
PUBSUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$")
# https://cloud.google.com/bigquery/docs/datasets#dataset-naming
BIGQUERY_DATASET_ID = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
# https://cloud.google.com/kms/docs/resource-hierarchy#key_rings (key rings and keys alike)
KMS_ID = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
# https://cloud.google.com/iam/docs/reference/rest/v1/projects.roles/create
CUSTOM_ROLE_ID = re.compile(r"^[A-Za-z0-9_.]{3,64}$")
# https://cloud.google.com/sql/docs/postgres/instance-settings#instance-id-2ndgen: lowercase
# letters, digits and hyphens, starting with a letter; project id and instance id together 98.
SQL_INSTANCE_ID = re.compile(r"^[a-z][a-z0-9-]*$")
SQL_PROJECT_AND_INSTANCE_MAX = 98

# https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules: five unix-cron fields;
# month and weekday names as their first three letters in upper case; no `L` (last day), and
# no Quartz extensions (`?`, `W`, `#`).
CRON_FIELDS = ("minute", "hour", "day of the month", "month", "day of the week")
CRON_NAMES = re.compile(r"[A-Za-z]+")
CRON_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
CRON_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def bucket_name(name: str) -> str | None:
    """Why Cloud Storage would refuse this bucket name, or None."""
    low, high = BUCKET_NAME_LENGTH
    limit = DOTTED_BUCKET_NAME_MAX if "." in name else high
    if not low <= len(name) <= limit:
        return f"a bucket name has {low} to {limit} characters, not {len(name)}"
    if not BUCKET_CHARACTERS.fullmatch(name):
        return (
            "a bucket name takes lowercase letters, digits, '-', '_' and '.', "
            "and starts and ends with a letter or digit"
        )
    if any(not part or len(part) > high for part in name.split(".")):
        return f"each dot-separated part of a bucket name has 1 to {high} characters"
    if name.startswith("goog"):
        return "a bucket name cannot start with `goog` (reserved by Google)"
    if RESERVED_BUCKET_WORDS.search(name):
        return "a bucket name cannot contain `google` or a close misspelling of it"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return None
    return "a bucket name cannot be an IP address"


def undotted_bucket_name(name: str) -> str | None:
    """Why a bucket the config names for the program to create would be refused, or None: Cloud
    Storage's rules, and no dots, since a dotted name needs a domain verified by the deployer."""
    if problem := bucket_name(name):
        return problem
    if "." in name:
        return f"{name!r}: a bucket name with dots needs a verified domain; use '-' instead"
    return None


def _label_character(character: str, *, first: bool) -> bool:
    """Lowercase letters (international ones included: Unicode Ll and Lo), then also digits,
    `_` and `-`."""
    category = unicodedata.category(character)
    if category in ("Ll", "Lo"):
        return True
    return not first and (category.startswith("N") or character in "_-")


def label_key(key: str) -> str | None:
    if not 1 <= len(key) <= LABEL_TEXT_MAX:
        return f"label key {key!r}: 1 to {LABEL_TEXT_MAX} characters"
    if not _label_character(key[0], first=True) or not all(_label_character(c, first=False) for c in key[1:]):
        return f"label key {key!r}: lowercase letters, digits, '_' or '-', starting with a lowercase letter"
    if len(key.encode()) > LABEL_BYTES_MAX:
        return f"label key {key!r}: at most {LABEL_BYTES_MAX} bytes in UTF-8"
    return None


def label_value(key: str, value: str) -> str | None:
    if len(value) > LABEL_TEXT_MAX:
        return f"label value of {key!r}: at most {LABEL_TEXT_MAX} characters, not {len(value)}"
    if not all(_label_character(c, first=False) for c in value):
        return f"label value {value!r} of {key!r}: lowercase letters, digits, '_' or '-' only"
    if len(value.encode()) > LABEL_BYTES_MAX:
        return f"label value of {key!r}: at most {LABEL_BYTES_MAX} bytes in UTF-8"
    return None


def labels(labels: Mapping[str, str]) -> str | None:
    """Why a resource's whole label set would be refused (count, then each key and value)."""
    if len(labels) > MAX_LABELS:
        return f"{len(labels)} labels: a resource takes {MAX_LABELS} at most"
    for key, value in labels.items():
        problem = label_key(key) or label_value(key, value)
        if problem:
            return problem
    return None


def cloud_sql_tier(tier: str) -> str | None:
    """Why Cloud SQL for PostgreSQL would refuse this machine type, or None."""
    if tier in SHARED_CORE_TIERS:
        return None
    if match := PERF_OPTIMIZED_TIER.fullmatch(tier):
        cpus = int(match["cpus"])
        if cpus not in PERF_OPTIMIZED_VCPUS:
            return f"{tier}: Enterprise Plus N2 machines have {', '.join(map(str, PERF_OPTIMIZED_VCPUS))} vCPUs"
        return None
    match = CUSTOM_TIER.fullmatch(tier)
    if match is None:
        return (
            f"{tier!r} is not a Cloud SQL for PostgreSQL machine type: "
            "db-custom-<vCPUs>-<MB>, db-perf-optimized-N-<vCPUs> or shared core"
        )
    cpus, memory_mb = int(match["cpus"]), int(match["memory_mb"])
    if not (cpus == 1 or (cpus % 2 == 0 and 2 <= cpus <= CUSTOM_TIER_MAX_VCPUS)):
        return f"{tier}: a custom machine has 1 vCPU or an even number up to {CUSTOM_TIER_MAX_VCPUS}, not {cpus}"
    if memory_mb % CUSTOM_TIER_MEMORY_STEP_MB:
        return f"{tier}: memory is a multiple of {CUSTOM_TIER_MEMORY_STEP_MB} MB, not {memory_mb} MB"
    if memory_mb < CUSTOM_TIER_MIN_MEMORY_MB:
        return f"{tier}: memory is {CUSTOM_TIER_MIN_MEMORY_MB} MB (3.75 GB) at least"
    low, high = CUSTOM_TIER_GB_PER_VCPU
    per_vcpu = memory_mb / 1024 / cpus
    if not low <= per_vcpu <= high:
        least, most = int(-(-low * 1024 * cpus // 256) * 256), int(high * 1024 * cpus // 256 * 256)
        return (
            f"{tier}: {per_vcpu:.2f} GB per vCPU; a custom machine takes {low} to {high} GB per vCPU "
            f"({max(least, CUSTOM_TIER_MIN_MEMORY_MB)} to {most} MB for {cpus} vCPU{'s' if cpus > 1 else ''})"
        )
    return None


def service_account_id(account_id: str) -> str | None:
    if not SERVICE_ACCOUNT_ID.fullmatch(account_id):
        return (
            f"service account id {account_id!r} ({len(account_id)} characters): 6 to 30 lowercase letters, digits "
            "or '-', starting with a letter and not ending with '-'"
        )
    return None


def project_id(project: str) -> str | None:
    if not PROJECT_ID.fullmatch(project):
        return (
            "a project id has 6 to 30 lowercase letters, digits or '-', starts with a letter and does not end with '-'"
        )
    restricted = [word for word in RESTRICTED_PROJECT_WORDS if word in project]
    if restricted:
        return f"a project id cannot contain {restricted[0]!r} (Google restricts {', '.join(RESTRICTED_PROJECT_WORDS)})"
    return None


def rfc1035_name(name: str, max_length: int = 63, what: str = "name") -> str | None:
    if not 1 <= len(name) <= max_length or not RFC1035.fullmatch(name):
        return (
            f"{what} {name!r} ({len(name)} characters): 1 to {max_length} lowercase letters, digits or '-', "
            "starting with a letter and not ending with '-' (RFC 1035)"
        )
    return None


def cloud_run_service_name(name: str) -> str | None:
    return rfc1035_name(name, CLOUD_RUN_SERVICE_NAME_MAX, "Cloud Run name")


def _pattern_rule(name: str, pattern: re.Pattern[str], what: str, shape: str):
    """A rule that is one pattern; `name` is the module attribute it is bound to, which a graph
    check's message cites (`gcp_rules.<name>`)."""

    def rule(value: str) -> str | None:
        return None if pattern.fullmatch(value) else f"{what} {value!r} ({len(value)} characters): {shape}"

    rule.__name__ = name
    return rule


secret_id = _pattern_rule("secret_id", SECRET_ID, "secret id", "1 to 255 letters, digits, '_' or '-'")
redis_instance_id = _pattern_rule(
    "redis_instance_id",
    REDIS_INSTANCE_ID,
    "Memorystore instance id",
    "1 to 40 lowercase letters, digits or '-', starting with a letter, ending with a letter or digit",
)
repository_id = _pattern_rule(
    "repository_id",
    REPOSITORY_ID,
    "Artifact Registry repository id",
    "1 to 63 lowercase letters, digits or '-', starting with a letter, ending with a letter or digit",
)
log_bucket_id = _pattern_rule(
    "log_bucket_id",
    LOG_BUCKET_ID,
    "log bucket id",
    "1 to 100 letters, digits, '_', '-' or '.', starting with a letter or digit",
)
log_sink_name = _pattern_rule(
    "log_sink_name", LOG_SINK_NAME, "log sink name", "1 to 100 letters, digits, '_', '-' or '.'"
)
scheduler_job_name = _pattern_rule(
    "scheduler_job_name", SCHEDULER_JOB_NAME, "Cloud Scheduler job name", "1 to 500 letters, digits, '_' or '-'"
)


bigquery_dataset_id = _pattern_rule(
    "bigquery_dataset_id", BIGQUERY_DATASET_ID, "BigQuery dataset id", "1 to 1024 letters, digits or '_'"
)
kms_id = _pattern_rule("kms_id", KMS_ID, "Cloud KMS key ring or key id", "1 to 63 letters, digits, '_' or '-'")
identity_tenant_display_name = _pattern_rule(
    "identity_tenant_display_name",
    IDENTITY_TENANT_DISPLAY_NAME,
    "Identity Platform tenant display name",
    "4 to 20 letters, digits or '-', starting with a letter",
)
identity_provider_id = _pattern_rule(
    "identity_provider_id",
    IDENTITY_PROVIDER_ID,
    "Identity Platform provider id",
    "`saml.` or `oidc.`, then letters, digits, '-', '_' or '.', starting with a lowercase letter, ending with a "
    "letter or digit, 2 characters at least",
)
custom_role_id = _pattern_rule(
    "custom_role_id", CUSTOM_ROLE_ID, "custom role id", "3 to 64 letters, digits, '_' or '.'"
)


def pubsub_name(name: str) -> str | None:
    if not PUBSUB_NAME.fullmatch(name):
        return (
            f"Pub/Sub name {name!r} ({len(name)} characters): 3 to 255 letters, digits, '-', '.', '_', '~', '%' "
            "or '+', starting with a letter"
        )
    if name.lower().startswith("goog"):
        return f"Pub/Sub name {name!r}: names cannot start with `goog`"
    return None


def workload_identity_id(value: str) -> str | None:
    if not WORKLOAD_IDENTITY_ID.fullmatch(value):
        return f"workload identity pool or provider id {value!r}: 4 to 32 lowercase letters, digits or '-'"
    if value.startswith("gcp-"):
        return f"workload identity pool or provider id {value!r}: the `gcp-` prefix is reserved by Google"
    return None


def sql_instance_id(name: str, project: str = "") -> str | None:
    if not SQL_INSTANCE_ID.fullmatch(name):
        return f"Cloud SQL instance id {name!r}: lowercase letters, digits or '-', starting with a letter"
    if len(project) + 1 + len(name) > SQL_PROJECT_AND_INSTANCE_MAX:
        limit = SQL_PROJECT_AND_INSTANCE_MAX
        return f"Cloud SQL instance id {name!r}: `<project>:<instance>` has {limit} characters at most"
    return None


def cron_schedule(schedule: str) -> str | None:
    """Why Cloud Scheduler would refuse this unix-cron schedule (or it would never fire), or None.

    Parsed by cronsim, a strict cron parser (ranges, steps above 0, lists, names), after the
    checks for what Cloud Scheduler does not take."""
    from cronsim import CronSim, CronSimError

    fields = schedule.split()
    if len(fields) != len(CRON_FIELDS):
        return (
            f"{schedule!r}: give five unix-cron fields (minute hour day-of-month month day-of-week), like '*/5 * * * *'"
        )
    for field_name, field in zip(CRON_FIELDS, fields, strict=True):
        allowed = CRON_MONTHS if field_name == "month" else CRON_WEEKDAYS if field_name == "day of the week" else ()
        names = CRON_NAMES.findall(field)
        if "?" in field or "#" in field or any(name in ("L", "W", "LW") for name in names):
            return (
                f"{schedule!r}: the {field_name} field {field!r} uses L, W, ? or #, which Cloud Scheduler does not take"
            )
        for name in names:
            if name not in allowed:
                shown = f"one of {', '.join(allowed)} (upper case)" if allowed else "not taken: numbers only"
                return f"{schedule!r}: the {field_name} field {field!r} has {name!r}; names there are {shown}"
    try:
        CronSim(schedule, datetime.datetime(2026, 1, 1))
    except CronSimError as error:
        ranges = "minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-7; steps above 0"
        return f"{schedule!r}: {str(error).lower()} ({ranges})"
    return None
