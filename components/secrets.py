"""Secret Manager secrets, each readable by exactly the workloads that need it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.options import child_options

REQUIRED_APIS = ("secretmanager.googleapis.com",)
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
GENERATED_LENGTH = 64


@dataclass(frozen=True)
class SecretSpec:
    value: pulumi.Input[str] | None = None
    """The secret's value (kept a Pulumi secret); None generates a random 64-character key
    that never appears in config or in the program."""
    accessors: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Who may read it: a short label (`api`) to an IAM member (`serviceAccount:...`). The
    role is granted on this secret alone, never on the project."""


@dataclass(frozen=True)
class SecretsArgs:
    secrets: Mapping[str, SecretSpec]
    """Secret name (`db-password`) to its spec; stored as `<component name>-<secret name>`."""
    protect: bool = True
    """Pulumi `protect` and Secret Manager's deletion protection on each secret, and `protect` on
    its version and generated key: deleting a secret stops new instances of every workload that
    reads it, and replacing a version or a generated key silently rotates it. Off only for
    disposable environments."""


class Secrets(pulumi.ComponentResource):
    """One `Secret`, its current version and its accessor grants per entry."""

    secrets: dict[str, gcp.secretmanager.Secret]
    secret_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:secrets:Secrets", name, None, opts)
        child = child_options(self, opts)
        stateful = child_options(self, opts, protect=args.protect)
        self.secrets = {}
        for key, spec in sorted(args.secrets.items()):
            secret_name = f"{name}-{key}"
            secret = gcp.secretmanager.Secret(
                secret_name,
                secret_id=secret_name,
                replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()),
                deletion_protection=args.protect,
                opts=stateful,
            )
            value = spec.value
            if value is None:
                value = random.RandomPassword(
                    f"{secret_name}-value", length=GENERATED_LENGTH, special=False, opts=stateful
                ).result
            gcp.secretmanager.SecretVersion(
                f"{secret_name}-version",
                secret=secret.id,
                secret_data=pulumi.Output.secret(value),
                # A new value replaces the version: in a protected stack that is a person's rotation.
                opts=stateful,
            )
            for label, member in sorted(spec.accessors.items()):
                gcp.secretmanager.SecretIamMember(
                    f"{secret_name}-{label}",
                    secret_id=secret.id,
                    role=ACCESSOR_ROLE,
                    member=member,
                    opts=child,
                )
            self.secrets[key] = secret
        # The short id: what Cloud Run's secretKeyRef takes for a secret of the same project.
        self.secret_ids = {key: secret.secret_id for key, secret in self.secrets.items()}
        self.register_outputs({"secret_ids": self.secret_ids})
