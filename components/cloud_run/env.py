"""A container's environment: plain values, and secrets only as Secret Manager references.

A Pulumi secret never becomes a plain value of a container: it would be readable by anyone who
may view the revision (`run.services.get`) and in every revision's history.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import NotRequired, TypedDict, cast

import pulumi

SECRET_VERSION = "latest"
"""Resolved as each instance starts: after a rotation new instances read the new value while
running ones keep the old, so a rotated credential must stay valid until instances are replaced."""
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Set by Cloud Run itself; a revision that sets them is rejected.
RESERVED_ENV = frozenset({"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"})
# A secret of the same project by its short id, or any secret by its resource name.
SECRET_REF = re.compile(r"^(projects/[^/]+/secrets/)?[A-Za-z0-9_-]{1,255}$")


class PlainSecretError(ValueError):
    """A Pulumi secret was about to become a plain environment value of a container."""


# The blocks below are typed dicts that fit both the service's and the worker pool's input
# types (the provider generates one identical set of classes per resource). Each lists every
# key of the provider's dict, as a typed dict must to be assignable to another.
# The blocks below are typed dicts that fit both the service's and the worker pool's input
# types (the provider generates one identical set of classes per resource). Each lists every
# key of the provider's dict, as a typed dict must to be assignable to another.
class SecretKeyRef(TypedDict):
    secret: pulumi.Input[str]
    version: NotRequired[pulumi.Input[str | None]]


class EnvValueSource(TypedDict):
    secret_key_ref: NotRequired[pulumi.Input[SecretKeyRef | None]]


class EnvVar(TypedDict):
    name: pulumi.Input[str]
    value: NotRequired[pulumi.Input[str | None]]
    value_source: NotRequired[pulumi.Input[EnvValueSource | None]]


def check_env_names(env: Mapping[str, object], secret_env: Mapping[str, object]) -> None:
    """Names Cloud Run accepts, set once: an env name in both maps would let a plain value
    shadow a secret, or the reverse, depending on order."""
    for env_name in [*env, *secret_env]:
        if not ENV_NAME.fullmatch(env_name):
            raise ValueError(f"environment variable name {env_name!r} is not a C identifier")
        if env_name in RESERVED_ENV:
            raise ValueError(f"environment variable {env_name} is set by Cloud Run itself; choose another name")
    both = sorted(set(env) & set(secret_env))
    if both:
        raise ValueError(f"environment variables set both as plain values and as secrets: {', '.join(both)}")
    for env_name, secret in secret_env.items():
        if isinstance(secret, str) and not SECRET_REF.fullmatch(secret):
            # The value is not echoed: it may be the secret itself, given by mistake.
            raise ValueError(
                f"secret_env {env_name} is not a Secret Manager secret id "
                "(`name` or `projects/P/secrets/name`); the secret's value never goes here"
            )


def _refuse_secret(what: str, value: pulumi.Input[str]) -> pulumi.Input[str]:
    """The value unchanged, unless it is a Pulumi secret: then the run fails, naming `what`.

    A secret as a plain env value would be readable by anyone who may view the revision
    (`run.services.get`) and in every revision's history, whatever the state encryption."""
    if not isinstance(value, pulumi.Output):
        return value
    output: pulumi.Output[str] = value
    # Futures, not bare coroutines: when the check fails the Output stops awaiting, and a
    # coroutine never awaited would be reported at exit.
    is_secret = asyncio.ensure_future(output.is_secret())

    async def checked() -> str:
        if await is_secret:
            raise PlainSecretError(
                f"{what} is a Pulumi secret: put it in Secret Manager and reference it from secret_env"
            )
        # The value, or in a preview the SDK's unknown marker, which it passes on as unknown.
        return cast(str, await output.future(with_unknowns=True))

    return pulumi.Output(
        output.resources(), asyncio.ensure_future(checked()), asyncio.ensure_future(output.is_known()), is_secret
    )


def env_vars(env: Mapping[str, pulumi.Input[str]], secret_env: Mapping[str, pulumi.Input[str]]) -> list[EnvVar]:
    """Plain values as `value`, secrets only as `value_source.secret_key_ref`; sorted by name
    so that the revision does not change when a mapping's order does."""
    plain: list[EnvVar] = [
        {"name": env_name, "value": _refuse_secret(f"env {env_name}", value)} for env_name, value in sorted(env.items())
    ]
    secret: list[EnvVar] = [
        {
            "name": env_name,
            "value_source": {
                "secret_key_ref": {
                    # A secret id is never itself secret; a Pulumi secret here is the value by mistake.
                    "secret": _refuse_secret(f"secret_env {env_name}", secret_id),
                    "version": SECRET_VERSION,
                }
            },
        }
        for env_name, secret_id in sorted(secret_env.items())
    ]
    return sorted([*plain, *secret], key=lambda variable: str(variable["name"]))
