"""One error type for every way a stack's configuration can be wrong.

The message names the stack file, each bad key, the value found (never a secret's) and
what is allowed, and says that nothing was declared, so a failed run is safe to repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Problem:
    key: str  # as written in the stack file: `omni-infra:network.subnetCidr`
    found: str  # repr of the bad value, `(missing)` or `[secret]`
    allowed: str  # what would be accepted, and how to set it

    def render(self) -> str:
        return f"  {self.key}: found {self.found}\n      {self.allowed}"


class StackConfigError(pulumi.RunError):
    """The stack's configuration is invalid; raised before any resource is declared.

    A `RunError`, so that `pulumi up` prints the message alone, without a Python traceback.
    """

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        count = len(problems)
        header = f"{source}: {count} invalid configuration value{'s' if count != 1 else ''}; no resource was declared."
        super().__init__("\n".join([header, *(p.render() for p in problems)]))


class ConfigConflict(ValueError):
    """A refusal that involves several keys (or one key other than where the validator sits):
    the loader names each of them, with the command that changes it, instead of the section.

    `keys` are paths from the top of the config as a stack file writes them (`api.cpu`,
    `tracing.collectorMemory`; `project` and `region` stand for `gcp:project`, `gcp:region`)."""

    def __init__(self, message: str, *keys: str):
        super().__init__(message)
        self.keys = keys
