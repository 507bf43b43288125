"""The container registry: one Artifact Registry Docker repository that every workload pulls
its image from, with immutable tags and cleanup policies.

Immutable tags make a deploy traceable: a release tag names one image forever, so the
revision that ran `api:2024-06-01.3` can be rebuilt from its tag. Cleanup keeps the registry's
storage bounded without ever removing the most recent releases (the rollback targets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.encryption import CustomerKey
from components.options import child_options

REQUIRED_APIS = ("artifactregistry.googleapis.com",)

UNTAGGED_RETENTION = "14d"
"""Untagged versions (intermediate builds, images whose push was retried) go after two weeks."""
TAGGED_RETENTION = "90d"
"""Tagged versions older than this go too, unless they are among the `keep_recent` newest."""

# Artifact Registry repository ids: lowercase letters, digits and dashes, starting with a letter.
REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
# Docker image paths: lowercase components separated by `/`, each `a-z0-9` joined by `.`, `_`, `__` or `-`.
IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MOVING_TAGS = frozenset({"latest"})


@dataclass(frozen=True)
class RegistryArgs:
    region: str
    """Region of the repository: the workloads' region, so pulls stay in the region (no egress
    charge) and the image is where Cloud Run starts instances."""
    project: str
    """Project of the repository; also the middle of every image path."""
    protect: bool = True
    """Pulumi `protect` and the provider's `deletion_policy: PREVENT`: deleting the repository
    deletes every image, and Cloud Run cannot start new instances of a revision whose image is
    gone. Off only for disposable environments."""
    keep_recent: int = 20
    """Versions per image always kept, whatever their age: the recent releases to roll back to.
    Raise it if a stack may run a release older than the last 20 pushes."""
    encryption: CustomerKey | None = None
    """The customer-managed key (components/encryption.py) to encrypt with, or None for Google's
    default encryption. Adopting or changing it REPLACES the
    repository and every image in it: the provider's `kmsKeyName` is ForceNew (docs/encryption.md)."""

    def __post_init__(self) -> None:
        if self.keep_recent < 1:
            raise ValueError(f"keep_recent must be at least 1 (the running release), got {self.keep_recent}")


def cleanup_policies(keep_recent: int) -> list[gcp.artifactregistry.RepositoryCleanupPolicyArgs]:
    """Delete untagged versions after UNTAGGED_RETENTION and tagged ones after TAGGED_RETENTION,
    except the `keep_recent` newest versions of each image: a KEEP policy wins over DELETE."""
    return [
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="keep-recent-versions",
            action="KEEP",
            most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(
                keep_count=keep_recent
            ),
        ),
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="delete-untagged",
            action="DELETE",
            condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                tag_state="UNTAGGED", older_than=UNTAGGED_RETENTION
            ),
        ),
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="delete-old-tagged",
            action="DELETE",
            condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                tag_state="TAGGED", older_than=TAGGED_RETENTION
            ),
        ),
    ]


def image_reference(base: str, name: str, release: str) -> str:
    """`base/name:tag`, or `base/name@sha256:...` when the release is a digest.

    Refuses what would make a deploy untraceable or fail at pull time: a malformed name,
    tag or digest, and a moving tag such as `latest` (with immutable tags it could only ever
    name its first image, which is never what `latest` is meant to say)."""
    if not IMAGE_NAME.fullmatch(name):
        raise ValueError(
            f"image name {name!r} is not a valid Docker image path (lowercase letters, digits, '.', '_', '-', '/')"
        )
    if release.startswith("sha256:"):
        if not DIGEST.fullmatch(release):
            raise ValueError(f"image digest {release!r} is not 'sha256:' followed by 64 lowercase hex digits")
        return f"{base}/{name}@{release}"
    if not TAG.fullmatch(release):
        raise ValueError(
            f"image tag {release!r} is not a valid Docker tag (letters, digits, '_', '.', '-'; at most 128)"
        )
    if release in MOVING_TAGS:
        raise ValueError(f"image tag {release!r} moves between images: deploy a release tag or a digest")
    return f"{base}/{name}:{release}"


def dockerhub_mirror(
    name: str,
    *,
    project: str,
    region: str,
    purpose: str,
    image: str,
    version: str,
    opts: pulumi.ResourceOptions,
) -> pulumi.Output[str]:
    """A remote repository caching Docker Hub in the region (`<name>-dockerhub`); returns the
    reference of `image:version` pulled through it (an Output that waits for the repository).
    Cloud Run pulls as its service agent, which reads any repository of its own project;
    `purpose` says whose image it caches."""
    mirror = gcp.artifactregistry.Repository(
        f"{name}-dockerhub",
        repository_id=f"{name}-dockerhub",
        project=project,
        location=region,
        format="DOCKER",
        mode="REMOTE_REPOSITORY",
        description=f"Docker Hub, cached for {purpose} (managed by Pulumi)",
        remote_repository_config=gcp.artifactregistry.RepositoryRemoteRepositoryConfigArgs(
            description="Docker Hub",
            docker_repository=gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryArgs(
                public_repository="DOCKER_HUB"
            ),
        ),
        opts=opts,
    )
    return pulumi.Output.all(mirror.location, mirror.project, mirror.repository_id).apply(
        lambda parts: f"{parts[0]}-docker.pkg.dev/{parts[1]}/{parts[2]}/{image}:{version}"
    )


class Registry(pulumi.ComponentResource):
    """A regional Docker repository `<name>` with immutable tags and cleanup policies."""

    repository: gcp.artifactregistry.Repository
    image_base: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        if not REPOSITORY_ID.fullmatch(name):
            raise ValueError(
                f"repository id {name!r} must be 1-63 lowercase letters, digits or dashes, "
                "starting with a letter and not ending with a dash"
            )
        super().__init__("omni:registry:Registry", name, None, opts)
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-repository",
            repository_id=name,
            project=args.project,
            location=args.region,
            format="DOCKER",
            mode="STANDARD_REPOSITORY",
            description="Omni container images (managed by Pulumi)",
            docker_config=gcp.artifactregistry.RepositoryDockerConfigArgs(immutable_tags=True),
            cleanup_policies=cleanup_policies(args.keep_recent),
            # Off, the policies only log what they would delete.
            cleanup_policy_dry_run=False,
            # Vulnerability scanning stays at the provider's and the API's default.
            deletion_policy="PREVENT" if args.protect else "DELETE",
            kms_key_name=args.encryption.key_id if args.encryption else None,
            opts=pulumi.ResourceOptions.merge(
                child_options(self, opts, protect=args.protect), args.encryption.after() if args.encryption else None
            ),
        )
        # Built from the repository's own outputs, so whatever runs an image depends on the repository.
        self.image_base = pulumi.Output.all(
            self.repository.location, self.repository.project, self.repository.repository_id
        ).apply(lambda parts: f"{parts[0]}-docker.pkg.dev/{parts[1]}/{parts[2]}")
        self.register_outputs({"repository_id": self.repository.repository_id, "image_base": self.image_base})

    def image(self, name: str, release: str) -> pulumi.Output[str]:
        """The image `name` at `release`: a tag (`2024-06-01.3`, a git sha) or a digest
        (`sha256:...`), checked by `image_reference`."""
        image_reference("base", name, release)  # fail at the call, not inside an apply
        return self.image_base.apply(lambda base: image_reference(base, name, release))
