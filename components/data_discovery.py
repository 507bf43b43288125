"""Sensitive Data Protection discovery: profiles of the usage dataset's tables and the Cloud SQL
database's tables (which infoTypes each column holds, how sensitive and risky it is), kept fresh
as schemas change, and a message to the findings topic for every new or riskier high-risk profile.

Discovery runs as the project's DLP service agent (`service-<number>@dlp-api.iam.gserviceaccount.com`),
which holds DLP Project Data Profiles Driver (`roles/dlp.projectdriver`: it reads the tables it
profiles) and publish on the findings topic. BigQuery needs nothing more. Cloud SQL needs a
database login: Sensitive Data Protection creates a connection per instance in the
MISSING_CREDENTIALS state, and a person gives it a read-only user's password from Secret Manager
(docs/compliance.md, "Cloud SQL profiling"); until then the database target waits and BigQuery is
profiled alone. Profiles are billed per GB profiled (docs/compliance.md), so dev turns this off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.identity import grant_project_roles
from components.options import child_options

REQUIRED_APIS = ("dlp.googleapis.com",)
DISCOVERY_PROJECT_ROLES = ("roles/dlp.projectdriver",)
PUBLISHER_ROLE = "roles/pubsub.publisher"
# The personal data the platform may hold (docs/data-retention.md): what a profile looks for.
PERSONAL_INFO_TYPES = (
    "EMAIL_ADDRESS",
    "PERSON_NAME",
    "PHONE_NUMBER",
    "STREET_ADDRESS",
    "IP_ADDRESS",
    "CREDIT_CARD_NUMBER",
    "IBAN_CODE",
)
# Profiles worth a ticket: high data risk, when first profiled or when the risk rises.
NOTIFIED_EVENTS = ("NEW_PROFILE", "SCORE_INCREASED")
MONTHLY = "UPDATE_FREQUENCY_MONTHLY"


def exactly(name: str) -> str:
    """A discovery filter regex matching one name and nothing that merely starts with it."""
    return f"^{re.escape(name)}$"


def dlp_service_agent(project_number: str) -> str:
    """The DLP API's service agent of a project: it runs project-level discovery."""
    if not re.fullmatch(r"[0-9]+", project_number):
        raise ValueError(f"project number {project_number!r} is not digits")
    return f"serviceAccount:service-{project_number}@dlp-api.iam.gserviceaccount.com"


@dataclass(frozen=True)
class DataDiscoveryArgs:
    project: str
    region: str
    """Where discovery runs and keeps its profiles: the data's region (data residency)."""
    dataset: str
    """The usage dataset's id: every table in it is profiled."""
    findings_topic: pulumi.Input[str]
    """`projects/<p>/topics/<t>`: where high-risk profiles are announced (the ticket path)."""
    findings_topic_name: pulumi.Input[str]
    sql_instance: pulumi.Input[str] | None = None
    """The Cloud SQL instance's name; None leaves the database out (`compliance.discovery.cloudSql`)."""
    sql_database: pulumi.Input[str] | None = None
    refresh_frequency: str = MONTHLY
    """How often unchanged tables are profiled again (each run is billed)."""
    publish_to_scc: bool = True
    """Also publish each profile's findings to Security Command Center (where it is activated)."""


class DataDiscovery(pulumi.ComponentResource):
    """The inspect template, the discovery config, and the service agent's grants."""

    config: gcp.dataloss.PreventionDiscoveryConfig
    grants: list[pulumi.CustomResource]

    def __init__(self, name: str, args: DataDiscoveryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:compliance:DataDiscovery", name, None, opts)
        if (args.sql_instance is None) != (args.sql_database is None):
            raise ValueError("Cloud SQL discovery needs both the instance and the database name")
        child = child_options(self, opts)
        parent = f"projects/{args.project}/locations/{args.region}"
        number = gcp.organizations.get_project_output(
            project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        agent = number.number.apply(dlp_service_agent)
        template = gcp.dataloss.PreventionInspectTemplate(
            f"{name}-personal-data",
            parent=parent,
            template_id=f"{name}-personal-data",
            display_name="Personal data the platform may hold",
            description="The infoTypes docs/data-retention.md lists; managed by Pulumi",
            inspect_config=gcp.dataloss.PreventionInspectTemplateInspectConfigArgs(
                info_types=[
                    gcp.dataloss.PreventionInspectTemplateInspectConfigInfoTypeArgs(name=info_type)
                    for info_type in PERSONAL_INFO_TYPES
                ],
                min_likelihood="POSSIBLE",
            ),
            opts=child,
        )
        targets = [
            gcp.dataloss.PreventionDiscoveryConfigTargetArgs(
                big_query_target=gcp.dataloss.PreventionDiscoveryConfigTargetBigQueryTargetArgs(
                    filter=gcp.dataloss.PreventionDiscoveryConfigTargetBigQueryTargetFilterArgs(
                        tables=gcp.dataloss.PreventionDiscoveryConfigTargetBigQueryTargetFilterTablesArgs(
                            include_regexes=gcp.dataloss.PreventionDiscoveryConfigTargetBigQueryTargetFilterTablesIncludeRegexesArgs(
                                patterns=[
                                    gcp.dataloss.PreventionDiscoveryConfigTargetBigQueryTargetFilterTablesIncludeRegexesPatternArgs(
                                        project_id_regex=exactly(args.project),
                                        dataset_id_regex=exactly(args.dataset),
                                    )
                                ]
                            )
                        )
                    ),
                    cadence=gcp.dataloss.PreventionDiscoveryConfigTargetBigQueryTargetCadenceArgs(
                        refresh_frequency=args.refresh_frequency,
                        schema_modified_cadence=gcp.dataloss.PreventionDiscoveryConfigTargetBigQueryTargetCadenceSchemaModifiedCadenceArgs(
                            frequency=MONTHLY, types=["SCHEMA_NEW_COLUMNS"]
                        ),
                        inspect_template_modified_cadence=gcp.dataloss.PreventionDiscoveryConfigTargetBigQueryTargetCadenceInspectTemplateModifiedCadenceArgs(
                            frequency=MONTHLY
                        ),
                    ),
                )
            )
        ]
        if args.sql_instance is not None and args.sql_database is not None:
            instance, database = (
                pulumi.Output.from_input(args.sql_instance),
                pulumi.Output.from_input(args.sql_database),
            )
            targets.append(
                gcp.dataloss.PreventionDiscoveryConfigTargetArgs(
                    cloud_sql_target=gcp.dataloss.PreventionDiscoveryConfigTargetCloudSqlTargetArgs(
                        filter=gcp.dataloss.PreventionDiscoveryConfigTargetCloudSqlTargetFilterArgs(
                            collection=gcp.dataloss.PreventionDiscoveryConfigTargetCloudSqlTargetFilterCollectionArgs(
                                include_regexes=gcp.dataloss.PreventionDiscoveryConfigTargetCloudSqlTargetFilterCollectionIncludeRegexesArgs(
                                    patterns=[
                                        gcp.dataloss.PreventionDiscoveryConfigTargetCloudSqlTargetFilterCollectionIncludeRegexesPatternArgs(
                                            project_id_regex=exactly(args.project),
                                            instance_regex=instance.apply(exactly),
                                            database_regex=database.apply(exactly),
                                        )
                                    ]
                                )
                            )
                        ),
                        conditions=gcp.dataloss.PreventionDiscoveryConfigTargetCloudSqlTargetConditionsArgs(
                            database_engines=["POSTGRES"], types=["DATABASE_RESOURCE_TYPE_TABLE"]
                        ),
                        generation_cadence=gcp.dataloss.PreventionDiscoveryConfigTargetCloudSqlTargetGenerationCadenceArgs(
                            refresh_frequency=args.refresh_frequency,
                            schema_modified_cadence=gcp.dataloss.PreventionDiscoveryConfigTargetCloudSqlTargetGenerationCadenceSchemaModifiedCadenceArgs(
                                frequency=MONTHLY, types=["NEW_COLUMNS"]
                            ),
                            inspect_template_modified_cadence=gcp.dataloss.PreventionDiscoveryConfigTargetCloudSqlTargetGenerationCadenceInspectTemplateModifiedCadenceArgs(
                                frequency=MONTHLY
                            ),
                        ),
                    )
                )
            )
        actions = [
            gcp.dataloss.PreventionDiscoveryConfigActionArgs(
                pub_sub_notification=gcp.dataloss.PreventionDiscoveryConfigActionPubSubNotificationArgs(
                    topic=args.findings_topic,
                    event=event,
                    detail_of_message="RESOURCE_NAME",
                    pubsub_condition=gcp.dataloss.PreventionDiscoveryConfigActionPubSubNotificationPubsubConditionArgs(
                        expressions=gcp.dataloss.PreventionDiscoveryConfigActionPubSubNotificationPubsubConditionExpressionsArgs(
                            logical_operator="OR",
                            conditions=[
                                gcp.dataloss.PreventionDiscoveryConfigActionPubSubNotificationPubsubConditionExpressionsConditionArgs(
                                    minimum_risk_score="HIGH"
                                )
                            ],
                        )
                    ),
                )
            )
            for event in NOTIFIED_EVENTS
        ]
        if args.publish_to_scc:
            actions.append(
                gcp.dataloss.PreventionDiscoveryConfigActionArgs(
                    publish_to_scc=gcp.dataloss.PreventionDiscoveryConfigActionPublishToSccArgs()
                )
            )
        after_template = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[template]))
        self.config = gcp.dataloss.PreventionDiscoveryConfig(
            f"{name}-discovery",
            parent=parent,
            location=args.region,
            display_name=f"{name}: usage dataset and database",
            status="RUNNING",
            inspect_templates=[template.name.apply(lambda template_id: f"{parent}/inspectTemplates/{template_id}")],
            targets=targets,
            actions=actions,
            opts=after_template,
        )
        # Google creates the DLP service agent when the API is first used, not when it is enabled:
        # the grants follow the config (Google's own order: create the scan, then grant its agent).
        # Discovery retries what the first scan could not read until they land.
        after_config = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.config]))
        self.grants = [
            *grant_project_roles(f"{name}-dlp-agent", args.project, agent, DISCOVERY_PROJECT_ROLES, after_config),
            gcp.pubsub.TopicIAMMember(
                f"{name}-dlp-agent-publisher",
                project=args.project,
                topic=args.findings_topic_name,
                role=PUBLISHER_ROLE,
                member=agent,
                opts=after_config,
            ),
        ]
        self.register_outputs({"config": self.config.name, "cloud_sql": args.sql_instance is not None})
