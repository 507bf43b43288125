"""Who deploys a stack: GitHub Actions through Workload Identity Federation (stack key `deploy`).

The pool trusts one repository, named by its numeric ids: GitHub never reuses an id, while a
name (`owner/name`) is taken by whoever creates it after a rename or deletion. Both ids are
required by every stack that deploys (`stackconfig.loader.deployment_problems` names the key
and the command that prints them); the name stays, for the deploy workflow's path in the
deployer's condition and for people reading the stack file.
"""

from __future__ import annotations

from pydantic import Field

from .model_base import ConfigModel

GITHUB_REPOSITORY = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$"
# GitHub's ids are positive integers (64-bit); as text, what its OIDC tokens carry.
GITHUB_ID = r"^[1-9][0-9]{0,19}$"


class DeployConfig(ConfigModel):
    """Who deploys the stack: GitHub Actions through Workload Identity Federation."""

    github_repository: str = Field(
        default="omni-platform/omni-infra",
        pattern=GITHUB_REPOSITORY,
        description=(
            "`owner/name` of the GitHub repository whose workflows deploy this stack: the deployer "
            "accepts only its deploy workflow (`<owner/name>/.github/workflows/deploy-stack.yml@refs/heads/main`). "
            "Change it with the ids below when the repository moves."
        ),
    )
    github_repository_id: str | None = Field(
        default=None,
        pattern=GITHUB_ID,
        description=(
            "Numeric id of that repository (`gh api repos/OWNER/NAME --jq .id`): the identity pool "
            "accepts tokens whose `repository_id` claim is this, and no other. Required to deploy."
        ),
    )
    github_owner_id: str | None = Field(
        default=None,
        pattern=GITHUB_ID,
        description=(
            "Numeric id of the repository's owner (`gh api repos/OWNER/NAME --jq .owner.id`): the pool "
            "also requires the `repository_owner_id` claim to be this. Required to deploy."
        ),
    )
    preview_pull_requests: bool = Field(
        default=False,
        description=(
            "Pull requests of the repository may impersonate the previewer (a `pulumi preview` per "
            "pull request). Whoever can push a branch can then run code as the previewer and decrypt "
            "the stack's secrets, so the default, and prod, keep it off: the stack is previewed only "
            "by the drift check on main. On in dev and staging."
        ),
    )
