"""Resource options shared by every component."""

from __future__ import annotations

import pulumi


def child_options(
    component: pulumi.Resource, opts: pulumi.ResourceOptions | None, **options: object
) -> pulumi.ResourceOptions:
    """Options for a component's children: parented to it, and waiting for whatever the
    component was told to wait for (on a new project, the APIs it needs), which Pulumi does
    not pass down from a component to its children by itself."""
    waits_for = opts.depends_on if opts is not None else None
    depends_on = [] if waits_for is None else list(waits_for) if isinstance(waits_for, (list, tuple)) else [waits_for]
    return pulumi.ResourceOptions(parent=component, depends_on=depends_on, **options)  # type: ignore[arg-type]
