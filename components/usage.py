"""Usage metering and invoicing: every API call counted once, every invoice reproducible.

- **Pipeline**: the API and the workers publish one JSON message per billable use to a Pub/Sub
  topic whose Avro schema (`metering/schema/usage_event.avsc`) Pub/Sub enforces at publish time.
  A BigQuery subscription writes each message, with Pub/Sub's metadata (message id, publish
  time), into the `events` table: day-partitioned on `occurred_at`, clustered by tenant, a
  partition filter required, partitions expiring after the configured retention. A message
  BigQuery refuses is retried with backoff, then moved to a dead-letter topic, whose own pull
  subscription keeps it for a week, to be inspected and replayed.
- **Exactly-once numbers**: delivery is at-least-once, so the reviewed views
  (`metering/sql/*.sql`) count each `event_id` once (`deduplicated_events`), sum units per
  tenant and month (`monthly_usage`), and compare them with what was invoiced (`reconciliation`).
- **Invoicing**: two Cloud Run jobs of one image (not ours; `docs/usage.md` is its contract):
  `<name>-invoice` bills the previous month through Stripe on a monthly schedule, and
  `<name>-reconcile` runs the reconciliation daily and reports its mismatches as a Cloud
  Monitoring metric. Both run as one account that may read the dataset, write the invoices
  table, run BigQuery jobs, write that metric and read the Stripe key, nothing else. The Stripe
  key is a Secret Manager secret without a version: an operator adds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.app_contract import PLACEHOLDER_JOB_IMAGE
from components.cloud_run import ContainerSpec, Job, JobArgs
from components.cloud_run.job import schedule_job_runs
from components.encryption import CustomerKey
from components.identity import grant_project_roles
from components.options import child_options
from metering import files
from observability.durations import parse_duration
from stackconfig.cron import check_cron, check_monthly
from stackconfig.usage import MAX_RETENTION_DAYS, check_dataset_id, check_pubsub_id

REQUIRED_APIS = (
    "pubsub.googleapis.com",
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com",  # the BigQuery subscription writes through the Storage Write API
    "run.googleapis.com",
    "cloudscheduler.googleapis.com",
    "secretmanager.googleapis.com",
    "monitoring.googleapis.com",
)
PUBLISHER_ROLE = "roles/pubsub.publisher"
SUBSCRIBER_ROLE = "roles/pubsub.subscriber"
# The Pub/Sub service agent writes rows and reads the table's metadata: dataEditor, on the table only.
TABLE_WRITER_ROLE = "roles/bigquery.dataEditor"
DATASET_READER_ROLE = "roles/bigquery.dataViewer"
SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
# The invoicing account's project roles: run query jobs (billed to the project) and write the
# reconciliation metric. Table access is granted on the dataset and the invoices table alone.
INVOICING_PROJECT_ROLES = ("roles/bigquery.jobUser", "roles/monitoring.metricWriter")
EVENTS_TABLE = "events"
INVOICES_TABLE = "invoices"
MILLISECONDS_PER_DAY = 24 * 3600 * 1000
# Pub/Sub keeps an unacknowledged message at most 7 days: a BigQuery outage that long loses nothing.
MESSAGE_RETENTION = "604800s"
# A subscription that never expires: the default deletes it after 31 days without activity.
NEVER_EXPIRES = gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl="")
RECONCILIATION_METRIC = "custom.googleapis.com/omni/invoicing/reconciliation_mismatched_lines"
JOB_MODES = ("invoice", "reconcile")
MAX_BACKOFF_SECONDS = 600  # Pub/Sub's ceiling for a retry policy's backoff


@dataclass(frozen=True)
class TopicEncryption:
    """A topic's CMEK inputs: the key, and message storage in the key's region only (a regional
    key protects messages stored where it is). Both None: Google's default encryption, anywhere."""

    kms_key_name: pulumi.Input[str] | None = None
    message_storage_policy: gcp.pubsub.TopicMessageStoragePolicyArgs | None = None


def topic_encryption(key: CustomerKey | None, region: str) -> TopicEncryption:
    if key is None:
        return TopicEncryption()
    return TopicEncryption(
        kms_key_name=key.key_id,
        message_storage_policy=gcp.pubsub.TopicMessageStoragePolicyArgs(allowed_persistence_regions=[region]),
    )


@dataclass(frozen=True)
class UsageArgs:
    project: str
    region: str
    """BigQuery dataset location and the jobs' region."""
    topic: str
    """Pub/Sub topic id of the usage events; the schema, the subscriptions and the dead-letter
    topic are named from it (`<topic>-bigquery`, `<topic>-dead-letter`, ...)."""
    dataset: str
    """BigQuery dataset id (`omni_prod_usage`)."""
    publishers: Mapping[str, pulumi.Input[str]]
    """Who may publish usage events: a label (`api`) to an IAM member. Nobody else may."""
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    """The invoicing jobs reach Stripe through the stack's VPC and NAT, like every workload."""
    image: pulumi.Input[str] | None = None
    """The invoicing image (`omni-invoicing`); None runs Google's placeholder job image, so the
    first `pulumi up` works before CI has pushed one."""
    raw_retention_days: int = 400
    """Days a raw event is kept: the events table's partition expiration (privacy policy)."""
    invoice_schedule: str = "0 6 2 * *"
    """Once a month (unix-cron, UTC): the previous month is billed then."""
    reconcile_schedule: str = "30 7 * * *"
    """How often invoiced and metered units are compared (unix-cron, UTC)."""
    max_delivery_attempts: int = 10
    """Attempts to write a message to BigQuery before it goes to the dead-letter topic (5-100)."""
    minimum_backoff: str = "10s"
    maximum_backoff: str = "600s"
    """Delay between attempts, growing exponentially from the minimum to the maximum."""
    stripe_key_added: bool = False
    """Whether the Stripe key has a version. Cloud Run refuses to create a job whose secret has
    none, so the invoice job and its schedule are declared only once an operator added it."""
    environment: str = "prod"
    """`OMNI_ENV` of the jobs: the first part of every Stripe idempotency key."""
    protect: bool = True
    """Pulumi `protect` and deletion protection on the dataset, the tables and the Stripe secret;
    a dataset with tables is then never deleted with its contents."""
    analytics_key: CustomerKey | None = None
    """The customer-managed key of the dataset and its tables (components/encryption.py), or None
    for Google's default. Adopting it REPLACES the events and invoices tables (the provider's
    `encryptionConfiguration` is ForceNew): copy them first (docs/encryption.md)."""
    messaging_key: CustomerKey | None = None
    """The customer-managed key of the topics, set in place (new messages use it); with it, the
    topics store messages in the stack's region only, where the key is."""
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_pubsub_id(self.topic)
        check_dataset_id(self.dataset)
        check_monthly(self.invoice_schedule)
        check_cron(self.reconcile_schedule)
        if not 1 <= self.raw_retention_days <= MAX_RETENTION_DAYS:
            raise ValueError(
                f"raw_retention_days {self.raw_retention_days}: keep raw events 1 to {MAX_RETENTION_DAYS} days"
            )
        if not 5 <= self.max_delivery_attempts <= 100:
            raise ValueError(f"max_delivery_attempts {self.max_delivery_attempts}: Pub/Sub accepts 5 to 100")
        minimum, maximum = parse_duration(self.minimum_backoff), parse_duration(self.maximum_backoff)
        if not 0 <= minimum <= maximum <= MAX_BACKOFF_SECONDS:
            raise ValueError(
                f"retry backoff {self.minimum_backoff}..{self.maximum_backoff}: "
                "Pub/Sub takes 0s to 600s, the minimum first"
            )
        if not self.publishers:
            raise ValueError("publishers: name at least one account that publishes usage events")


class Usage(pulumi.ComponentResource):
    topic: gcp.pubsub.Topic
    dataset: gcp.bigquery.Dataset
    events_table: gcp.bigquery.Table
    invoices_table: gcp.bigquery.Table
    views: dict[str, gcp.bigquery.Table]
    stripe_secret: gcp.secretmanager.Secret
    topic_name: pulumi.Output[str]
    topic_path: pulumi.Output[str]
    """`projects/<project>/topics/<topic>`: what a publisher client takes."""
    jobs: dict[str, pulumi.Output[str]]
    runtime_emails: dict[str, pulumi.Output[str]]
    """The accounts the jobs and their schedules run as, for whoever deploys them (`actAs`)."""

    def __init__(self, name: str, args: UsageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:usage:Usage", name, None, opts)
        # Every file is read and checked before the first child is declared.
        event_schema = files.event_schema_text()
        events_columns = files.table_schema_text(EVENTS_TABLE)
        invoices_columns = files.table_schema_text(INVOICES_TABLE)
        queries = {view: files.render_view(view, args.dataset) for view in files.VIEWS}

        child = child_options(self, opts)
        stateful = child_options(self, opts, protect=args.protect)
        topic_key = topic_encryption(args.messaging_key, args.region)
        analytics_key = args.analytics_key.key_id if args.analytics_key else None
        analytics_grants = list(args.analytics_key.grants) if args.analytics_key else []

        def after(*resources: pulumi.Resource, protect: bool = False) -> pulumi.ResourceOptions:
            base = stateful if protect else child
            return pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=list(resources)))

        # --- the topic and its schema ------------------------------------------------------
        pubsub_agent = gcp.projects.ServiceIdentity(
            f"{name}-pubsub-agent", project=args.project, service="pubsub.googleapis.com", opts=child
        )
        schema = gcp.pubsub.Schema(
            f"{name}-usage-schema",
            name=f"{args.topic}-schema",
            project=args.project,
            type="AVRO",
            definition=event_schema,
            opts=child,
        )
        self.topic = gcp.pubsub.Topic(
            f"{name}-usage-topic",
            name=args.topic,
            project=args.project,
            labels=dict(args.labels),
            # The apps publish JSON; Pub/Sub refuses a message the schema does not accept.
            schema_settings={"schema": schema.id, "encoding": "JSON"},
            kms_key_name=topic_key.kms_key_name,
            message_storage_policy=topic_key.message_storage_policy,
            opts=after(schema, *(args.messaging_key.grants if args.messaging_key else ())),
        )
        for label, member in sorted(args.publishers.items()):
            gcp.pubsub.TopicIAMMember(
                f"{name}-usage-publisher-{label}",
                project=args.project,
                topic=self.topic.name,
                role=PUBLISHER_ROLE,
                member=member,
                opts=child,
            )

        # --- the dataset and its tables ----------------------------------------------------
        self.dataset = gcp.bigquery.Dataset(
            f"{name}-usage-dataset",
            dataset_id=args.dataset,
            project=args.project,
            location=args.region,
            description="Usage events and invoices of the Omni API (managed by Pulumi)",
            labels=dict(args.labels),
            delete_contents_on_destroy=not args.protect,
            # New tables default to the key; ours also name it (below), so none is left out.
            default_encryption_configuration=(
                gcp.bigquery.DatasetDefaultEncryptionConfigurationArgs(kms_key_name=analytics_key)
                if analytics_key
                else None
            ),
            opts=after(*analytics_grants, protect=True),
        )
        self.events_table = gcp.bigquery.Table(
            f"{name}-usage-events",
            dataset_id=self.dataset.dataset_id,
            table_id=EVENTS_TABLE,
            project=args.project,
            description="Raw usage events as Pub/Sub delivered them (at least once): read deduplicated_events instead",
            schema=events_columns,
            time_partitioning={
                "type": "DAY",
                "field": "occurred_at",
                "expiration_ms": args.raw_retention_days * MILLISECONDS_PER_DAY,
            },
            require_partition_filter=True,
            clusterings=["tenant_id"],
            labels=dict(args.labels),
            deletion_protection=args.protect,
            encryption_configuration=(
                gcp.bigquery.TableEncryptionConfigurationArgs(kms_key_name=analytics_key) if analytics_key else None
            ),
            opts=stateful,
        )
        self.invoices_table = gcp.bigquery.Table(
            f"{name}-usage-invoices",
            dataset_id=self.dataset.dataset_id,
            table_id=INVOICES_TABLE,
            project=args.project,
            description="Invoice lines the invoicing job created in Stripe, one per tenant, month, plan and unit kind",
            schema=invoices_columns,
            # Invoices are financial records: no expiration.
            time_partitioning={"type": "MONTH", "field": "usage_month"},
            clusterings=["tenant_id"],
            labels=dict(args.labels),
            deletion_protection=args.protect,
            encryption_configuration=(
                gcp.bigquery.TableEncryptionConfigurationArgs(kms_key_name=analytics_key) if analytics_key else None
            ),
            opts=stateful,
        )
        self.views = {}
        previous: list[pulumi.Resource] = [self.events_table, self.invoices_table]
        for view in files.VIEWS:
            self.views[view] = gcp.bigquery.Table(
                f"{name}-usage-{view.replace('_', '-')}",
                dataset_id=self.dataset.dataset_id,
                table_id=view,
                project=args.project,
                description=f"metering/sql/{view}.sql (managed by Pulumi)",
                # Provider 7 no longer defaults this: unset, BigQuery would read the query as legacy SQL.
                view={"query": queries[view], "use_legacy_sql": False},
                labels=dict(args.labels),
                # A view holds no data: replacing it loses nothing.
                deletion_protection=False,
                opts=after(*previous),
            )
            previous = [self.views[view], self.invoices_table]

        # --- delivery: BigQuery subscription, retries, dead letters --------------------------
        table_writer = gcp.bigquery.IamMember(
            f"{name}-usage-events-writer",
            project=args.project,
            dataset_id=self.dataset.dataset_id,
            table_id=self.events_table.table_id,
            role=TABLE_WRITER_ROLE,
            member=pubsub_agent.member,
            opts=child,
        )
        dead_letter = gcp.pubsub.Topic(
            f"{name}-usage-dead-letter",
            name=f"{args.topic}-dead-letter",
            project=args.project,
            labels=dict(args.labels),
            kms_key_name=topic_key.kms_key_name,
            message_storage_policy=topic_key.message_storage_policy,
            opts=after(*(args.messaging_key.grants if args.messaging_key else ())),
        )
        dead_letter_publisher = gcp.pubsub.TopicIAMMember(
            f"{name}-usage-dead-letter-publisher",
            project=args.project,
            topic=dead_letter.name,
            role=PUBLISHER_ROLE,
            member=pubsub_agent.member,
            opts=child,
        )
        gcp.pubsub.Subscription(
            f"{name}-usage-dead-letter-sub",
            name=f"{args.topic}-dead-letter-sub",
            project=args.project,
            topic=dead_letter.id,
            ack_deadline_seconds=60,
            message_retention_duration=MESSAGE_RETENTION,
            expiration_policy=NEVER_EXPIRES,
            labels=dict(args.labels),
            opts=child,
        )
        to_bigquery = gcp.pubsub.Subscription(
            f"{name}-usage-bigquery",
            name=f"{args.topic}-bigquery",
            project=args.project,
            topic=self.topic.id,
            bigquery_config={
                "table": pulumi.Output.all(self.dataset.dataset_id, self.events_table.table_id).apply(
                    lambda ids: f"{args.project}.{ids[0]}.{ids[1]}"
                ),
                # Columns from the topic's Avro schema, plus message_id and publish_time.
                "use_topic_schema": True,
                "write_metadata": True,
                # A field the table lacks is an error (retried, then dead-lettered), never dropped.
                "drop_unknown_fields": False,
            },
            dead_letter_policy={
                "dead_letter_topic": dead_letter.id,
                "max_delivery_attempts": args.max_delivery_attempts,
            },
            retry_policy={"minimum_backoff": args.minimum_backoff, "maximum_backoff": args.maximum_backoff},
            message_retention_duration=MESSAGE_RETENTION,
            expiration_policy=NEVER_EXPIRES,
            labels=dict(args.labels),
            opts=after(table_writer, dead_letter_publisher),
        )
        # Forwarding to the dead-letter topic acknowledges the message on this subscription.
        gcp.pubsub.SubscriptionIAMMember(
            f"{name}-usage-bigquery-subscriber",
            project=args.project,
            subscription=to_bigquery.name,
            role=SUBSCRIBER_ROLE,
            member=pubsub_agent.member,
            opts=child,
        )

        # --- invoicing: identity, Stripe key, jobs, schedules ------------------------------
        invoicer = gcp.serviceaccount.Account(
            f"{name}-invoicing",
            project=args.project,
            account_id=f"{name}-invoicing",
            display_name=f"Usage invoicing ({name})",
            description=(
                "Reads usage, writes invoices and the reconciliation metric, reads the Stripe key; managed by Pulumi"
            ),
            opts=child,
        )
        grants: list[pulumi.Resource] = [
            *grant_project_roles(f"{name}-invoicing", args.project, invoicer.member, INVOICING_PROJECT_ROLES, child),
            gcp.bigquery.DatasetIamMember(
                f"{name}-invoicing-reader",
                project=args.project,
                dataset_id=self.dataset.dataset_id,
                role=DATASET_READER_ROLE,
                member=invoicer.member,
                opts=child,
            ),
            gcp.bigquery.IamMember(
                f"{name}-invoicing-writer",
                project=args.project,
                dataset_id=self.dataset.dataset_id,
                table_id=self.invoices_table.table_id,
                role=TABLE_WRITER_ROLE,
                member=invoicer.member,
                opts=child,
            ),
        ]
        self.stripe_secret = gcp.secretmanager.Secret(
            f"{name}-stripe-api-key",
            secret_id=f"{name}-stripe-api-key",
            project=args.project,
            replication={"auto": {}},
            # No version here: an operator adds the key (`gcloud secrets versions add`), so it is
            # never in config, state or the program.
            labels=dict(args.labels),
            deletion_protection=args.protect,
            opts=stateful,
        )
        grants.append(
            gcp.secretmanager.SecretIamMember(
                f"{name}-stripe-api-key-invoicing",
                project=args.project,
                secret_id=self.stripe_secret.secret_id,
                role=SECRET_ACCESSOR_ROLE,
                member=invoicer.member,
                opts=child,
            )
        )
        env: dict[str, pulumi.Input[str]] = {
            "OMNI_ENV": args.environment,
            "USAGE_PROJECT": args.project,
            "USAGE_DATASET": self.dataset.dataset_id,
            "USAGE_MONTHLY_VIEW": "monthly_usage",
            "USAGE_INVOICES_TABLE": INVOICES_TABLE,
            "USAGE_RECONCILIATION_VIEW": "reconciliation",
            "RECONCILIATION_METRIC": RECONCILIATION_METRIC,
        }
        trigger = gcp.serviceaccount.Account(
            f"{name}-inv-trigger",
            project=args.project,
            account_id=f"{name}-inv-run",
            display_name=f"Invoicing scheduler ({name})",
            description=(
                "Cloud Scheduler runs the invoicing jobs as this account, which may do nothing else; managed by Pulumi"
            ),
            opts=child,
        )
        schedules = {"invoice": args.invoice_schedule, "reconcile": args.reconcile_schedule}
        modes = JOB_MODES if args.stripe_key_added else tuple(mode for mode in JOB_MODES if mode != "invoice")
        if not args.stripe_key_added:
            pulumi.log.warn(
                f"usage.stripeKeyAdded is false: the invoice job {name}-invoice and its schedule are not declared "
                "until the Stripe key has a version "
                f"(`gcloud secrets versions add {name}-stripe-api-key --data-file=-`, docs/usage.md)",
                resource=self,
            )
        self.jobs = {}
        for mode in modes:
            job = Job(
                f"{name}-{mode}",
                JobArgs(
                    region=args.region,
                    container=ContainerSpec(
                        image=args.image if args.image is not None else PLACEHOLDER_JOB_IMAGE,
                        service_account_email=invoicer.email,
                        network_id=args.network_id,
                        subnet_id=args.subnet_id,
                        env={**env, "INVOICING_MODE": mode},
                        secret_env={"STRIPE_API_KEY": self.stripe_secret.secret_id} if mode == "invoice" else {},
                    ),
                    service="invoicing",
                    command=(),
                    timeout="3600s",
                    # Safe to retry: every Stripe call carries an idempotency key (docs/usage.md).
                    max_retries=2,
                    deletion_protection=args.protect,
                ),
                opts=after(*grants, *self.views.values()),
            )
            schedule_job_runs(
                f"{name}-{mode}-schedule",
                scheduler_name=f"{name}-{mode}",
                invoker_name=f"{name}-{mode}-invoker",
                job_name=job.name,
                project=args.project,
                region=args.region,
                schedule=schedules[mode],
                description=f"Runs the {mode} job of usage invoicing (managed by Pulumi)",
                trigger=trigger,
                # Only the start is retried: the job itself retries its run, idempotently.
                retry_config={"retry_count": 3, "min_backoff_duration": "60s"},
                opts=child,
            )
            self.jobs[mode] = job.name
        self.topic_name = self.topic.name
        self.topic_path = self.topic.id
        self.runtime_emails = {"usage-invoicing": invoicer.email, "usage-trigger": trigger.email}
        self.register_outputs({"topic": self.topic_name, "dataset": self.dataset.dataset_id, "jobs": self.jobs})
