"""The Google Cloud APIs a stack's resources need, enabled once per project."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp


@dataclass(frozen=True)
class ProjectServicesArgs:
    project: str
    """The project to enable the APIs in."""
    services: Sequence[str]
    """API names (`compute.googleapis.com`); each component lists what it needs as REQUIRED_APIS."""
    disable_on_destroy: bool = False
    """Keep APIs on when the stack is destroyed: turning one off breaks anything else in the
    project that uses it, and a later `pulumi up` would wait for it to come back."""


class ProjectServices(pulumi.ComponentResource):
    """Enables each API as its own `gcp.projects.Service`, so that resources can depend on it."""

    services: dict[str, gcp.projects.Service]

    def __init__(self, name: str, args: ProjectServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:project:ProjectServices", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.services = {
            api: gcp.projects.Service(
                f"{name}-{api.split('.')[0]}",
                project=args.project,
                service=api,
                disable_on_destroy=args.disable_on_destroy,
                # Never cascade: disabling one API must not silently disable the ones using it.
                disable_dependent_services=False,
                opts=child,
            )
            for api in sorted(set(args.services))
        }
        self.register_outputs({"services": sorted(self.services)})
