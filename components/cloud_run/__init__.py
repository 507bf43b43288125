"""The Omni workloads on Cloud Run: the API as a service, Celery (workers and beat) as worker
pools, migrations and the status publisher as jobs.

One concern per module, as Cloud Foundation Fabric splits `cloud-run-v2`:

- `containers`: the container, identity and Direct VPC egress every workload is built from;
- `env`: the environment, secrets only as Secret Manager references (`PlainSecretError`);
- `sidecars`: helper containers and the secret files they mount; `sidecar_config`: their
  configuration stored in Secret Manager;
- `service`, `worker_pool`, `job`: the three components;
- sizing (CPU and memory limits) is `stackconfig.cloud_run_sizing`, shared with the config model.

The runtime service accounts, the accessor grants on the secrets and the secrets' versions
must exist before a revision starts: pass them as the component's `depends_on`, which every
child inherits (`components.options.child_options`).
"""

from stackconfig.cloud_run_sizing import (
    SIDECAR_MAX_MEMORY_MIB,
    cpu_quantity,
    instance_limits,
    millicores,
    resource_limits,
    sidecar_limits,
)

from .containers import (
    APP_CONTAINER,
    PORT,
    REQUIRED_APIS,
    VPC_EGRESS,
    ContainerSpec,
    check_workload_name,
    command_container,
    container_env,
    http_probe,
    serving_resources,
    vpc_access,
)
from .env import SECRET_VERSION, EnvVar, PlainSecretError, check_env_names
from .job import Job, JobArgs
from .service import INGRESS, INVOKER_ROLE, ApiService, ApiServiceArgs, ingress
from .sidecar_config import CONFIG_DIGEST_ANNOTATION, SidecarConfig, store_sidecar_config
from .sidecars import HttpProbe, SecretFile, Sidecar, check_sidecars, secret_volumes, sidecar_container
from .worker_pool import WorkerPool, WorkerPoolArgs

__all__ = [
    "APP_CONTAINER",
    "CONFIG_DIGEST_ANNOTATION",
    "INGRESS",
    "INVOKER_ROLE",
    "PORT",
    "REQUIRED_APIS",
    "SECRET_VERSION",
    "SIDECAR_MAX_MEMORY_MIB",
    "VPC_EGRESS",
    "ApiService",
    "ApiServiceArgs",
    "ContainerSpec",
    "EnvVar",
    "HttpProbe",
    "Job",
    "JobArgs",
    "PlainSecretError",
    "SecretFile",
    "Sidecar",
    "SidecarConfig",
    "WorkerPool",
    "WorkerPoolArgs",
    "check_env_names",
    "check_sidecars",
    "check_workload_name",
    "command_container",
    "container_env",
    "cpu_quantity",
    "http_probe",
    "ingress",
    "instance_limits",
    "millicores",
    "resource_limits",
    "secret_volumes",
    "serving_resources",
    "sidecar_container",
    "sidecar_limits",
    "store_sidecar_config",
    "vpc_access",
]
