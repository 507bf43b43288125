"""What the providers would answer for each resource the program registers.

Two modes, as with the real engine:

- preview (default): the answer echoes the inputs and leaves every computed output out, so
  the SDK resolves it as unknown, exactly as `pulumi preview` does for a new resource. Nothing
  is invented: an input built from another resource's id or IP is recorded as `[unknown]`.
- apply: the answer adds realistic computed outputs (ids, self links, Cloud SQL connection
  names and private IPs, Cloud Run URIs, Redis hosts), all derived from the URN so that runs
  are repeatable. Apply functions then run on real-looking values, which exercises the wiring
  between components the way `pulumi up` would.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Inputs = dict[str, Any]
Computed = Callable[["Context"], dict[str, Any]]


@dataclass(frozen=True)
class Context:
    """What a computed output may depend on: the resource and the stack's project/region."""

    type: str
    name: str
    urn: str
    inputs: Inputs
    project: str
    region: str

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)

    @property
    def resource_name(self) -> str:
        return str(self.inputs.get("name") or self.name)

    @property
    def resource_project(self) -> str:
        return str(self.inputs.get("project") or self.project)

    @property
    def resource_region(self) -> str:
        return str(self.inputs.get("region") or self.inputs.get("location") or self.region)

    def digest(self, salt: str = "") -> str:
        return hashlib.sha256(f"{self.urn}|{salt}".encode()).hexdigest()

    def private_ip(self, network: str = "10.64.0.0/16") -> str:
        """A stable address inside `network`, different per resource."""
        net = ipaddress.IPv4Network(network)
        offset = int(self.digest("ip")[:8], 16) % (net.num_addresses - 4) + 2
        return str(net.network_address + offset)


def project_number(project: str) -> str:
    return str(100_000_000_000 + int(hashlib.sha256(project.encode()).hexdigest()[:10], 16) % 900_000_000_000)


def _regional(kind: str) -> Computed:
    def outputs(c: Context) -> dict[str, Any]:
        path = f"projects/{c.resource_project}/regions/{c.resource_region}/{kind}/{c.resource_name}"
        return {"id": path, "selfLink": f"https://www.googleapis.com/compute/v1/{path}"}

    return outputs


def _global(kind: str) -> Computed:
    def outputs(c: Context) -> dict[str, Any]:
        path = f"projects/{c.resource_project}/global/{kind}/{c.resource_name}"
        return {"id": path, "selfLink": f"https://www.googleapis.com/compute/v1/{path}"}

    return outputs


def _network(c: Context) -> dict[str, Any]:
    return {**_global("networks")(c), "networkId": str(int(c.digest()[:12], 16)), "gatewayIpv4": ""}


def _global_address(c: Context) -> dict[str, Any]:
    prefix = int(c.get("prefixLength") or 16)
    supernet = ipaddress.IPv4Network("10.64.0.0/10")
    block = int(c.digest()[:4], 16) % (2 ** (prefix - supernet.prefixlen))
    address = supernet.network_address + block * 2 ** (32 - prefix)
    return {**_global("addresses")(c), "address": c.get("address") or str(address)}


def _service_networking(c: Context) -> dict[str, Any]:
    return {"id": f"{c.get('network')}:{c.get('service')}", "peering": "servicenetworking-googleapis-com"}


def _project_service(c: Context) -> dict[str, Any]:
    return {"id": f"{c.resource_project}/{c.get('service')}"}


def _sql_instance(c: Context) -> dict[str, Any]:
    name = str(c.inputs.get("name") or f"{c.name}-{c.digest('autoname')[:7]}")
    ip = c.private_ip()
    return {
        "id": name,
        "name": name,
        "connectionName": f"{c.resource_project}:{c.resource_region}:{name}",
        "privateIpAddress": ip,
        "firstIpAddress": ip,
        "ipAddresses": [{"ipAddress": ip, "type": "PRIVATE"}],
        "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{c.resource_project}/instances/{name}",
        "serviceAccountEmailAddress": f"p{project_number(c.resource_project)}-{c.digest()[:6]}"
        "@gcp-sa-cloud-sql.iam.gserviceaccount.com",
        "dnsName": f"{c.digest()[:12]}.{c.resource_region}.sql.goog.",
        # The instance's own CA (a stand-in PEM, different per instance).
        "serverCaCerts": [
            {
                "cert": f"-----BEGIN CERTIFICATE-----\n{c.digest('ca')}\n-----END CERTIFICATE-----",
                "commonName": f"C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA,dnQualifier={c.digest('dn')[:16]}",
                "sha1Fingerprint": c.digest("ca-sha1")[:40],
            }
        ],
    }


def _redis_instance(c: Context) -> dict[str, Any]:
    return {
        "id": f"projects/{c.resource_project}/locations/{c.resource_region}/instances/{c.resource_name}",
        "host": c.private_ip(),
        "port": 6378 if c.get("transitEncryptionMode") == "SERVER_AUTHENTICATION" else 6379,
        "readEndpoint": c.private_ip("10.65.0.0/16") if c.get("readReplicasMode") == "READ_REPLICAS_ENABLED" else "",
        "readEndpointPort": 6379,
        "authString": f"mock-auth-{c.digest()[:24]}",
        "currentLocationId": f"{c.resource_region}-b",
    }


def _cloud_run(kind: str) -> Computed:
    def outputs(c: Context) -> dict[str, Any]:
        location = c.resource_region
        out: dict[str, Any] = {
            "id": f"projects/{c.resource_project}/locations/{location}/{kind}/{c.resource_name}",
            "uid": c.digest()[:32],
        }
        if kind == "services":
            out["uri"] = f"https://{c.resource_name}-{c.digest()[:10]}-ew.a.run.app"
            out["urls"] = [out["uri"]]
        return out

    return outputs


def _service_account(c: Context) -> dict[str, Any]:
    email = f"{c.get('accountId')}@{c.resource_project}.iam.gserviceaccount.com"
    return {
        "id": f"projects/{c.resource_project}/serviceAccounts/{email}",
        "email": email,
        "member": f"serviceAccount:{email}",
        "uniqueId": str(int(c.digest()[:15], 16)),
        "name": f"projects/{c.resource_project}/serviceAccounts/{email}",
    }


def _secret(c: Context) -> dict[str, Any]:
    name = f"projects/{project_number(c.resource_project)}/secrets/{c.get('secretId')}"
    return {"id": name, "name": name}


def _secret_version(c: Context) -> dict[str, Any]:
    name = f"{c.get('secret')}/versions/1"
    return {"id": name, "name": name, "version": "1"}


def _repository(c: Context) -> dict[str, Any]:
    path = f"projects/{c.resource_project}/locations/{c.resource_region}/repositories/{c.get('repositoryId')}"
    return {"id": path, "name": c.get("repositoryId")}


def _bucket(c: Context) -> dict[str, Any]:
    return {
        "id": c.resource_name,
        "url": f"gs://{c.resource_name}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{c.resource_name}",
    }


def _monitoring(kind: str) -> Computed:
    """Cloud Monitoring names its objects with a number it picks: `projects/p/alertPolicies/123`."""

    def outputs(c: Context) -> dict[str, Any]:
        path = f"projects/{c.resource_project}/{kind}/{int(c.digest()[:15], 16)}"
        return {"id": path, "name": path}

    return outputs


def _uptime_check(c: Context) -> dict[str, Any]:
    """Cloud Monitoring picks the check's id from its display name and a suffix."""
    check_id = f"{str(c.get('displayName')).lower()}-{c.digest('check')[:10]}"
    path = f"projects/{c.resource_project}/uptimeCheckConfigs/{check_id}"
    return {"id": path, "name": path, "uptimeCheckId": check_id}


def _scheduler_job(c: Context) -> dict[str, Any]:
    return {
        "id": f"projects/{c.resource_project}/locations/{c.resource_region}/jobs/{c.resource_name}",
        "state": "ENABLED",
    }


def _pubsub(kind: str) -> Computed:
    """Pub/Sub ids are paths: `projects/p/topics/t` (the provider's `id` of a topic, schema or
    subscription, which other resources reference)."""

    def outputs(c: Context) -> dict[str, Any]:
        return {"id": f"projects/{c.resource_project}/{kind}/{c.resource_name}"}

    return outputs


def _bigquery_dataset(c: Context) -> dict[str, Any]:
    dataset = c.get("datasetId")
    path = f"projects/{c.resource_project}/datasets/{dataset}"
    return {"id": path, "selfLink": f"https://bigquery.googleapis.com/bigquery/v2/{path}", "etag": c.digest()[:16]}


def _kms_key_ring(c: Context) -> dict[str, Any]:
    return {"id": f"projects/{c.resource_project}/locations/{c.get('location')}/keyRings/{c.resource_name}"}


def _kms_crypto_key(c: Context) -> dict[str, Any]:
    """A key's id is its key ring's id, then `/cryptoKeys/<name>`: what every CMEK field takes."""
    path = f"{c.get('keyRing')}/cryptoKeys/{c.resource_name}"
    return {"id": path, "primary": [{"name": f"{path}/cryptoKeyVersions/1", "state": "ENABLED"}]}


def _bigquery_table(c: Context) -> dict[str, Any]:
    path = f"projects/{c.resource_project}/datasets/{c.get('datasetId')}/tables/{c.get('tableId')}"
    kind = "VIEW" if c.get("view") else "TABLE"
    return {"id": path, "selfLink": f"https://bigquery.googleapis.com/bigquery/v2/{path}", "type": kind}


def _pagerduty_id(c: Context) -> dict[str, Any]:
    # PagerDuty IDs: `P` and six upper-case letters or digits.
    return {"id": "P" + c.digest()[:6].upper(), "htmlUrl": f"https://omni.pagerduty.com/{c.digest()[:6]}"}


def _pagerduty_integration(c: Context) -> dict[str, Any]:
    return {**_pagerduty_id(c), "integrationKey": c.digest("routing-key")[:32]}


def _workload_identity_pool(c: Context) -> dict[str, Any]:
    # Pools are named by the project's number, not its id.
    path = (
        f"projects/{project_number(c.resource_project)}/locations/global"
        f"/workloadIdentityPools/{c.get('workloadIdentityPoolId')}"
    )
    return {"id": path, "name": path, "state": "ACTIVE"}


def _workload_identity_provider(c: Context) -> dict[str, Any]:
    pool = (
        f"projects/{project_number(c.resource_project)}/locations/global"
        f"/workloadIdentityPools/{c.get('workloadIdentityPoolId')}"
    )
    path = f"{pool}/providers/{c.get('workloadIdentityPoolProviderId')}"
    return {"id": path, "name": path, "state": "ACTIVE"}


def _log_bucket(c: Context) -> dict[str, Any]:
    path = f"projects/{c.resource_project}/locations/{c.get('location')}/buckets/{c.get('bucketId')}"
    return {"id": path, "name": path, "lifecycleState": "ACTIVE"}


def _log_sink(c: Context) -> dict[str, Any]:
    return {
        "id": f"projects/{c.resource_project}/sinks/{c.resource_name}",
        "writerIdentity": f"serviceAccount:service-{project_number(c.resource_project)}"
        "@gcp-sa-logging.iam.gserviceaccount.com",
    }


def _bucket_object(c: Context) -> dict[str, Any]:
    bucket, name = c.get("bucket"), c.get("name")
    return {
        "id": f"{bucket}-{name}",
        "outputName": name,
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{name}",
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{name}?alt=media",
        "md5hash": c.digest("md5")[:24],
    }


def _service_identity(c: Context) -> dict[str, Any]:
    """A Google service agent: `service-<project number>@gcp-sa-<api>.iam.gserviceaccount.com`."""
    api = str(c.get("service")).split(".", 1)[0]
    email = f"service-{project_number(c.resource_project)}@gcp-sa-{api}.iam.gserviceaccount.com"
    return {
        "id": f"projects/{c.resource_project}/services/{c.get('service')}",
        "email": email,
        "member": f"serviceAccount:{email}",
    }


def _gke_cluster(c: Context) -> dict[str, Any]:
    """A GKE cluster's control plane: a public endpoint and the CA a kubeconfig trusts."""
    path = f"projects/{c.resource_project}/locations/{c.resource_region}/clusters/{c.resource_name}"
    return {
        "id": path,
        "endpoint": c.private_ip("34.0.0.0/8"),
        "masterAuth": {"clusterCaCertificate": "LS0tLS1CRUdJTi" + c.digest("ca")[:32]},
        "selfLink": f"https://container.googleapis.com/v1/{path}",
    }


def _random_password(c: Context) -> dict[str, Any]:
    length = int(c.get("length") or 32)
    return {"id": "none", "result": ("M0ck" + c.digest("password"))[:length], "bcryptHash": "$2a$10$mock"}


def _custom_role(c: Context) -> dict[str, Any]:
    """A project custom role: its name is what IAM bindings take as the role."""
    path = f"projects/{c.resource_project}/roles/{c.get('roleId')}"
    return {"id": path, "name": path, "deleted": False}


def _deny_policy(c: Context) -> dict[str, Any]:
    return {"id": f"{c.get('parent')}/{c.resource_name}", "etag": c.digest("etag")[:16]}


COMPUTED: dict[str, Computed] = {
    "gcp:projects/iAMCustomRole:IAMCustomRole": _custom_role,
    "gcp:iam/denyPolicy:DenyPolicy": _deny_policy,
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _regional("subnetworks"),
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/routerNat:RouterNat": lambda c: {
        "id": f"{c.resource_project}/{c.resource_region}/{c.get('router')}/{c.resource_name}"
    },
    "gcp:compute/firewall:Firewall": _global("firewalls"),
    "gcp:compute/globalAddress:GlobalAddress": _global_address,
    "gcp:servicenetworking/connection:Connection": _service_networking,
    "gcp:projects/service:Service": _project_service,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql_instance,
    "gcp:redis/instance:Instance": _redis_instance,
    "gcp:cloudrunv2/service:Service": _cloud_run("services"),
    "gcp:cloudrunv2/workerPool:WorkerPool": _cloud_run("workerPools"),
    "gcp:cloudrunv2/job:Job": _cloud_run("jobs"),
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:secretmanager/secret:Secret": _secret,
    "gcp:secretmanager/secretVersion:SecretVersion": _secret_version,
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:storage/bucketObject:BucketObject": _bucket_object,
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_identity,
    "random:index/randomPassword:RandomPassword": _random_password,
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": _workload_identity_pool,
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": _workload_identity_provider,
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": _log_bucket,
    "gcp:logging/projectSink:ProjectSink": _log_sink,
    "gcp:monitoring/alertPolicy:AlertPolicy": _monitoring("alertPolicies"),
    "gcp:monitoring/notificationChannel:NotificationChannel": _monitoring("notificationChannels"),
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": _uptime_check,
    "gcp:cloudscheduler/job:Job": _scheduler_job,
    "gcp:pubsub/topic:Topic": _pubsub("topics"),
    "gcp:pubsub/schema:Schema": _pubsub("schemas"),
    "gcp:pubsub/subscription:Subscription": _pubsub("subscriptions"),
    "gcp:bigquery/dataset:Dataset": _bigquery_dataset,
    "gcp:kms/keyRing:KeyRing": _kms_key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _kms_crypto_key,
    "gcp:bigquery/table:Table": _bigquery_table,
    "pagerduty:index/schedule:Schedule": _pagerduty_id,
    "pagerduty:index/escalationPolicy:EscalationPolicy": _pagerduty_id,
    "pagerduty:index/service:Service": _pagerduty_id,
    "pagerduty:index/serviceIntegration:ServiceIntegration": _pagerduty_integration,
}


def _get_project(c: Context) -> dict[str, Any]:
    project = str(c.inputs.get("projectId") or c.project)
    return {"id": f"projects/{project}", "projectId": project, "number": project_number(project), "name": project}


def _get_client_config(c: Context) -> dict[str, Any]:
    return {"id": "mock", "project": c.project, "region": c.region, "zone": f"{c.region}-b", "accessToken": "[secret]"}


def _get_secret_version(c: Context) -> dict[str, Any]:
    # A version's payload is never known offline: the placeholder every `secure:` value becomes.
    from offline.stackfile import SECRET_PLACEHOLDER

    secret = str(c.inputs.get("secret"))
    name = f"projects/{project_number(c.project)}/secrets/{secret}/versions/latest"
    return {"id": name, "name": name, "secret": secret, "version": "latest", "secretData": SECRET_PLACEHOLDER}


def _storage_service_agent(c: Context) -> dict[str, Any]:
    """Cloud Storage's service agent: `service-<project number>@gs-project-accounts...`."""
    project = str(c.inputs.get("project") or c.project)
    email = f"service-{project_number(project)}@gs-project-accounts.iam.gserviceaccount.com"
    return {"id": email, "project": project, "emailAddress": email, "member": f"serviceAccount:{email}"}


def _bigquery_encryption_agent(c: Context) -> dict[str, Any]:
    """BigQuery's encryption service account: `bq-<project number>@bigquery-encryption...`."""
    project = str(c.inputs.get("project") or c.project)
    email = f"bq-{project_number(project)}@bigquery-encryption.iam.gserviceaccount.com"
    return {"id": email, "project": project, "email": email, "member": f"serviceAccount:{email}"}


INVOKES: dict[str, Computed] = {
    "gcp:secretmanager/getSecretVersion:getSecretVersion": _get_secret_version,
    "gcp:organizations/getProject:getProject": _get_project,
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": _storage_service_agent,
    "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount": _bigquery_encryption_agent,
    "gcp:organizations/getClientConfig:getClientConfig": _get_client_config,
}


class OfflineInvokeError(RuntimeError):
    """The program called a provider function the offline engine cannot answer."""


class ComputedOutputs:
    """Answers registrations and invokes for one run, in preview or apply mode."""

    def __init__(self, project: str, region: str, preview: bool = True):
        self.project = project
        self.region = region
        self.preview = preview

    def for_resource(self, type_: str, name: str, urn: str, inputs: Inputs) -> tuple[str, dict[str, Any]]:
        if type_.startswith("pulumi:providers:"):
            # Providers are configured, not created: their id is known in preview too.
            return f"{name}-provider-id", dict(inputs)
        if self.preview:
            # An empty id and no computed properties: the SDK resolves both as unknown.
            return "", dict(inputs)
        context = Context(type_, name, urn, inputs, self.project, self.region)
        computed = COMPUTED.get(type_, lambda c: {"id": c.resource_name})(context)
        state = {**inputs, **computed}
        if type_.startswith("gcp:") and "name" not in inputs:
            # The provider auto-names a resource declared without a name: the logical name
            # plus a random suffix (here derived from the URN, so runs repeat).
            state.setdefault("name", f"{name}-{context.digest('autoname')[:7]}")
        return str(state.pop("id")), state

    def for_invoke(self, token: str, args: Inputs) -> dict[str, Any]:
        answer = INVOKES.get(token)
        if answer is None:
            raise OfflineInvokeError(
                f"the offline engine has no answer for provider function {token}; "
                "add one to offline/outputs.py INVOKES (derived from its arguments, never a live call)"
            )
        return answer(Context(token, token, token, args, self.project, self.region))
