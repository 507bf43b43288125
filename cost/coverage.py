"""How every resource type the program declares is billed: priced (an estimator in
``estimators``), free, or usage-only (billed by use the graph cannot show), each with the reason.

A type the table does not know makes ``coverage`` report it, ``omni cost`` print it, and the
test fail: a new declared type must be placed here first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Billing(Enum):
    PRICED = "priced"
    FREE = "free"
    USAGE_ONLY = "usage-only"


@dataclass(frozen=True)
class TypeBilling:
    billing: Billing
    reason: str


def _free(reason: str) -> TypeBilling:
    return TypeBilling(Billing.FREE, reason)


def _usage(reason: str) -> TypeBilling:
    return TypeBilling(Billing.USAGE_ONLY, reason)


def _priced(reason: str) -> TypeBilling:
    return TypeBilling(Billing.PRICED, reason)


IAM_GRANT = "IAM grants are not billed"
PART_OF_LB = "configuration of the load balancer: billed through its forwarding rule and data processed"
CERTIFICATE = "Google-managed certificates are not billed (Certificate Manager: the first 100 per project)"

TYPE_BILLING: dict[str, TypeBilling] = {
    # Priced from the graph (and the traffic profile where usage drives the amount).
    "gcp:cloudrunv2/service:Service": _priced("vCPU and memory of every container, by billing mode and instances"),
    "gcp:cloudrunv2/workerPool:WorkerPool": _priced("vCPU and memory of every container times the instance count"),
    "gcp:cloudrunv2/job:Job": _priced("vCPU and memory of every task times runs a month (from its schedule)"),
    "gcp:sql/databaseInstance:DatabaseInstance": _priced("tier vCPU and memory, HA, SSD storage, backups"),
    "gcp:redis/instance:Instance": _priced("capacity by tier and size band, extra read replicas"),
    "gcp:compute/routerNat:RouterNat": _priced("gateway hours and data processed (profile)"),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": _priced("rule hours and data processed (profile)"),
    "gcp:compute/securityPolicy:SecurityPolicy": _priced("policy, rules and requests evaluated (profile)"),
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": _priced(
        "retention beyond 30 days of the profile's log volume"
    ),
    "gcp:artifactregistry/repository:Repository": _priced("stored image GB (profile)"),
    "gcp:secretmanager/secret:Secret": _priced("active versions and access operations (profile)"),
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": _priced("executions: every period from every checker region"),
    "gcp:monitoring/alertPolicy:AlertPolicy": _priced("conditions per month"),
    "gcp:cloudscheduler/job:Job": _priced("per job per month"),
    "gcp:storage/bucket:Bucket": _priced("stored GiB (profile)"),
    "gcp:pubsub/topic:Topic": _priced("throughput (profile)"),
    "gcp:pubsub/subscription:Subscription": _priced("throughput, BigQuery subscriptions at their own rate (profile)"),
    "gcp:bigquery/table:Table": _priced("active storage and analysis (profile); a view costs through its tables"),
    "gcp:kms/cryptoKey:CryptoKey": _priced("active key versions"),
    # Free.
    "gcp:compute/network:Network": _free("VPC networks are not billed"),
    "gcp:compute/subnetwork:Subnetwork": _free(
        "subnets are not billed (flow logs are billed as logs, in the log volume)"
    ),
    "gcp:compute/router:Router": _free("Cloud Router is not billed; its NAT gateway is priced"),
    "gcp:compute/globalAddress:GlobalAddress": _free(
        "an internal range or an address in use by a forwarding rule is not billed"
    ),
    "gcp:servicenetworking/connection:Connection": _free("private services access peering is not billed"),
    "gcp:sql/database:Database": _free("part of its instance"),
    "gcp:sql/user:User": _free("part of its instance"),
    "gcp:secretmanager/secretVersion:SecretVersion": _free("priced on its secret (one active version each)"),
    "gcp:storage/bucketObject:BucketObject": _usage("bytes counted in its bucket's stored GiB"),
    "gcp:monitoring/notificationChannel:NotificationChannel": _free("notification channels are not billed"),
    # Discovery's detection rules (docs/compliance.md); the discovery config itself is usage-only below.
    "gcp:dataloss/preventionInspectTemplate:PreventionInspectTemplate": _free("inspect templates are not billed"),
    "gcp:logging/projectSink:ProjectSink": _free("routing is not billed; the destination bucket is priced"),
    "gcp:logging/metric:Metric": _usage(
        "a log-based metric's points are billed as Monitoring data ingested, by volume"
    ),
    "gcp:projects/service:Service": _free("enabling an API is not billed"),
    "gcp:projects/serviceIdentity:ServiceIdentity": _free("service agents are not billed"),
    "gcp:projects/iAMCustomRole:IAMCustomRole": _free(IAM_GRANT),
    "gcp:projects/iAMAuditConfig:IAMAuditConfig": _usage("data access logs add to the profile's log volume"),
    "gcp:serviceaccount/account:Account": _free("service accounts are not billed"),
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": _free("workload identity federation is not billed"),
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": _free(
        "workload identity federation is not billed"
    ),
    "gcp:iam/denyPolicy:DenyPolicy": _free(IAM_GRANT),
    "gcp:iap/webCloudRunServiceIamMember:WebCloudRunServiceIamMember": _free("IAP for Cloud Run is not billed"),
    "gcp:billing/budget:Budget": _free("budgets are not billed"),
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": _free(PART_OF_LB),
    "gcp:compute/backendService:BackendService": _free(PART_OF_LB),
    "gcp:compute/backendBucket:BackendBucket": _usage("bucket egress and Cloud CDN by traffic, not modeled"),
    "gcp:compute/uRLMap:URLMap": _free(PART_OF_LB),
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": _free(PART_OF_LB),
    "gcp:compute/targetHttpProxy:TargetHttpProxy": _free(PART_OF_LB),
    "gcp:compute/sSLPolicy:SSLPolicy": _free(PART_OF_LB),
    "gcp:compute/securityPolicyRule:SecurityPolicyRule": _priced("a rule of its policy, per month"),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": _free(CERTIFICATE),
    "gcp:certificatemanager/certificate:Certificate": _free(CERTIFICATE),
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": _free(CERTIFICATE),
    "gcp:certificatemanager/certificateMap:CertificateMap": _free(CERTIFICATE),
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": _free(CERTIFICATE),
    "gcp:pubsub/schema:Schema": _free("schemas are not billed"),
    "gcp:bigquery/dataset:Dataset": _free("datasets are not billed; their tables are priced"),
    "gcp:kms/keyRing:KeyRing": _free("key rings are not billed; their keys are priced"),
    "gcp:identityplatform/config:Config": _usage("billed by monthly active users, not modeled"),
    "gcp:identityplatform/tenant:Tenant": _free("tenants are not billed; their users are (usage)"),
    "gcp:identityplatform/tenantInboundSamlConfig:TenantInboundSamlConfig": _usage(
        "SAML sign-ins are billed by monthly active users, not modeled"
    ),
    "gcp:identityplatform/tenantOauthIdpConfig:TenantOauthIdpConfig": _usage(
        "OIDC sign-ins are billed by monthly active users, not modeled"
    ),
    "gcp:essentialcontacts/contact:Contact": _free("essential contacts are not billed"),
    "gcp:securitycenter/v2ProjectNotificationConfig:V2ProjectNotificationConfig": _usage(
        "the findings it publishes are Pub/Sub messages (throughput)"
    ),
    "gcp:dataloss/preventionDiscoveryConfig:PreventionDiscoveryConfig": _usage(
        "discovery profiling is billed by data profiled, not modeled"
    ),
    "random:index/randomPassword:RandomPassword": _free("local to Pulumi, not a cloud resource"),
    "pagerduty:index/service:Service": _free("billed by PagerDuty per seat, outside Google Cloud"),
    "pagerduty:index/schedule:Schedule": _free("billed by PagerDuty per seat, outside Google Cloud"),
    "pagerduty:index/escalationPolicy:EscalationPolicy": _free("billed by PagerDuty per seat, outside Google Cloud"),
    "pagerduty:index/serviceIntegration:ServiceIntegration": _free(
        "billed by PagerDuty per seat, outside Google Cloud"
    ),
}
IAM_MEMBER_SUFFIXES = ("IAMMember", "IamMember", "IAMBinding", "IamBinding")


def type_billing(resource_type: str) -> TypeBilling | None:
    """How a resource type is billed, or None when no one has placed it yet."""
    known = TYPE_BILLING.get(resource_type)
    if known is not None:
        return known
    if resource_type.rsplit(":", 1)[-1].endswith(IAM_MEMBER_SUFFIXES):
        return _free(IAM_GRANT)
    if resource_type.startswith("pulumi:providers:"):
        return _free("a provider is not a cloud resource")
    return None


@dataclass(frozen=True)
class Coverage:
    """Every custom resource type of a graph, placed or not."""

    types: dict[str, TypeBilling | None]

    @property
    def unplaced(self) -> list[str]:
        return sorted(t for t, billing in self.types.items() if billing is None)

    @property
    def percent(self) -> float:
        return 100.0 if not self.types else 100.0 * (len(self.types) - len(self.unplaced)) / len(self.types)


def coverage(types: set[str] | list[str]) -> Coverage:
    return Coverage({t: type_billing(t) for t in sorted(set(types))})


def graph_types(graph: dict[str, Any]) -> set[str]:
    """The billable kinds of resource a graph declares (components and the stack are not)."""
    return {
        r["type"] for r in graph.get("resources", []) if r.get("custom", True) and r["type"] != "pulumi:pulumi:Stack"
    }
