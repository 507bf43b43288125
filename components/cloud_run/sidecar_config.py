"""A sidecar's configuration file, stored in Secret Manager for the workloads to mount."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from components.secrets import ACCESSOR_ROLE

from .sidecars import SecretFile

CONFIG_DIGEST_ANNOTATION = "config-sha256"


@dataclass(frozen=True)
class SidecarConfig:
    """A sidecar's configuration file in Secret Manager: the secret, the version holding the
    text, and the file the workloads mount (`SecretFile`)."""

    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    file: SecretFile


def store_sidecar_config(
    owner: pulumi.Resource,
    opts: pulumi.ResourceOptions | None,
    *,
    secret_id: str,
    text: str,
    volume: str,
    file_name: str,
    readers: Mapping[str, pulumi.Input[str]],
    service_label: str,
    protect: bool,
) -> SidecarConfig:
    """Store `text` as a new version of the secret `secret_id`, children of `owner`, readable by
    each of `readers` (a short label to an IAM member), and return the file to mount.

    Cloud Run mounts secrets, not arbitrary files, hence Secret Manager for text that holds
    nothing secret. The workloads mount the version by number: a changed text is a new version,
    hence a new revision that rolls out; the old version is left in place (deletion policy
    ABANDON) for the old revision's instances that still start during the rollout."""
    secret = gcp.secretmanager.Secret(
        secret_id,
        secret_id=secret_id,
        labels={"service": service_label},
        # The version's data is a provider secret, invisible in a review; its digest is not.
        annotations={CONFIG_DIGEST_ANNOTATION: hashlib.sha256(text.encode("utf-8")).hexdigest()},
        replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()),
        # A workload whose mounted secret is gone cannot start new instances.
        deletion_protection=protect,
        opts=child_options(owner, opts, protect=protect),
    )
    child = child_options(owner, opts)
    version = gcp.secretmanager.SecretVersion(
        f"{secret_id}-version", secret=secret.id, secret_data=text, deletion_policy="ABANDON", opts=child
    )
    for label, member in sorted(readers.items()):
        gcp.secretmanager.SecretIamMember(
            f"{secret_id}-{label}", secret_id=secret.id, role=ACCESSOR_ROLE, member=member, opts=child
        )
    file = SecretFile(volume=volume, secret=secret.secret_id, version=version.version, file_name=file_name)
    return SidecarConfig(secret, version, file)
