"""What the running Pulumi program is handed: its config map, and whether providers really run.

Both read the SDK's runtime, the same under `pulumi up` and under the offline engine (which puts
the stack file's values there first), so the program never needs to know which one runs it.
"""

from __future__ import annotations


def runtime_config() -> tuple[dict[str, str], set[str]]:
    """The config map and secret keys of the running Pulumi program (`pulumi up` or offline).

    The language host passes them either in the runtime's config or, for older hosts, in the
    PULUMI_CONFIG environment variables; never mix the two.
    """
    from pulumi.runtime import config as runtime

    values: dict[str, str] = dict(runtime.CONFIG.get()) or dict(runtime.get_config_env())
    secret_keys = set(runtime._SECRET_KEYS.get()) or set(runtime.get_config_secret_keys_env())
    return values, secret_keys


def providers_run() -> bool:
    """False under the SDK's mock runtime (the offline engine, unit tests): no provider plugin
    is configured there, so no provider needs its credentials."""
    from pulumi.runtime import mocks, settings

    return not isinstance(settings.get_monitor(), mocks.MockMonitor)
