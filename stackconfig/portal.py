"""Settings of the developer portal: its Cloud Run service and the API reference site beside it.

The portal's application code is not ours: the platform runs the `omni-portal` image from the
stack's registry (docs/portal-contract.md says what it is given). Every default is the production
choice; dev scales the portal to zero.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from . import gcp_rules
from .cloud_run_sizing import check_cpu_memory
from .errors import ConfigConflict
from .model_base import ConfigModel
from .platform import MEMORY_PATTERN, CloudRunCpu

PORTAL_IMAGE = "omni-portal"
# A release names one image forever: an immutable tag or a digest; `latest` moves.
RELEASE_PATTERN = r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$"
# Secret Manager secret ids: letters, digits, `-` and `_`, 255 at most.
SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# The components build the reference bucket's name from the project when none is set.
REFERENCE_BUCKET_SUFFIX = "-reference"


class PortalIdentitySettings(ConfigModel):
    """What the portal is told about Identity Platform (provisioned elsewhere; issue 19, part 1):
    the browser sign-in key's secret, and the tenant the portal's own team members sign in to."""

    api_key_secret: str | None = Field(
        default=None,
        description=(
            "The Secret Manager secret (id, same project) holding Identity Platform's web API key: the portal "
            "reads it as IDENTITY_PLATFORM_API_KEY and its account may access that secret alone. Unset: no "
            "sign-in configuration is passed."
        ),
    )
    tenant_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description=(
            "The Identity Platform tenant of the portal's default sign-in (IDENTITY_PLATFORM_TENANT_ID); enterprise "
            "customers' tenants are found by the portal at sign-in. Unset: the project-level provider."
        ),
    )

    @field_validator("api_key_secret")
    @classmethod
    def _secret_id(cls, secret: str | None) -> str | None:
        if secret is not None and not SECRET_ID.fullmatch(secret):
            raise ValueError(
                f"{secret!r} is not a Secret Manager secret id: letters, digits, '-' and '_', 255 at most "
                "(the short id, not projects/.../secrets/...)"
            )
        return secret


class PortalSettings(ConfigModel):
    """The developer portal on Cloud Run behind the edge, and the API reference on the CDN."""

    enabled: bool = Field(
        default=True,
        description=(
            "The portal's Cloud Run service, its account and the API reference site. With the edge on it needs its "
            "host (edge.hosts.portal) and takes traffic only through the load balancer."
        ),
    )
    release: str | None = Field(
        default=None,
        pattern=RELEASE_PATTERN,
        description=(
            f"Tag or digest (`sha256:...`) of the `{PORTAL_IMAGE}` image in the stack's registry; unset: Google's "
            "placeholder container, so the first `pulumi up` works before CI pushed one."
        ),
    )
    min_instances: int = Field(
        default=1, ge=0, le=100, description="Instances kept warm: 1 avoids a cold start on a visitor's first page."
    )
    max_instances: int = Field(
        default=10, ge=1, le=1000, description="Scale-out ceiling: what a traffic spike may cost at most."
    )
    cpu: CloudRunCpu = Field(default="1", description="vCPUs per instance (the portal runs no sidecar).")
    memory: str = Field(
        default="512Mi",
        pattern=MEMORY_PATTERN,
        description="Memory per instance (`512Mi`, `1Gi`), within Cloud Run's range for `cpu`.",
    )
    concurrency: int = Field(default=80, ge=1, le=1000, description="Requests one instance serves at once.")
    health_path: str = Field(
        default="/healthz", pattern=r"^/[A-Za-z0-9/_.-]*$", description="Path of the startup and liveness probes."
    )
    reference_bucket: str | None = Field(
        default=None,
        description=(
            "The public bucket of the API reference site (globally unique, no dots); unset: "
            f"`<project>{REFERENCE_BUCKET_SUFFIX}`."
        ),
    )
    identity: PortalIdentitySettings = Field(
        default_factory=PortalIdentitySettings,
        description="Identity Platform settings passed to the portal (see PortalIdentitySettings).",
    )

    @field_validator("release")
    @classmethod
    def _release_names_one_image(cls, release: str | None) -> str | None:
        if release == "latest":
            raise ValueError("`latest` moves between images: use a release tag or a digest")
        return release

    @field_validator("reference_bucket")
    @classmethod
    def _cloud_storage_takes_it(cls, bucket: str | None) -> str | None:
        if bucket is not None and (problem := gcp_rules.undotted_bucket_name(bucket)):
            raise ValueError(problem)
        return bucket

    @model_validator(mode="after")
    def _sized_for_cloud_run(self) -> PortalSettings:
        if self.min_instances > self.max_instances:
            raise ConfigConflict(
                f"minInstances {self.min_instances} is above maxInstances {self.max_instances}: "
                "lower portal.minInstances or raise portal.maxInstances",
                "portal.minInstances",
                "portal.maxInstances",
            )
        check_cpu_memory("portal", self.cpu, self.memory, [])
        return self

    def bucket_name(self, project: str) -> str:
        """The reference site's bucket: the setting, else `<project>-reference`."""
        return self.reference_bucket or f"{project}{REFERENCE_BUCKET_SUFFIX}"
