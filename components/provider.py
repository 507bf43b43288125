"""The one Google Cloud provider every resource of a stack is declared with."""

from __future__ import annotations

import pulumi_gcp as gcp

from stackconfig.model import StackConfig


def google_provider(config: StackConfig) -> gcp.Provider:
    """An explicit provider pinned to the stack's project and region.

    Explicit rather than the default provider so that no resource can land in whatever
    project the operator's gcloud happens to point at, and so that every resource that
    takes labels gets the stack's labels without each component repeating them.
    """
    return gcp.Provider(
        f"{config.base_name}-gcp",
        project=config.project,
        region=config.region,
        default_labels=config.common_labels,
        add_pulumi_attribution_label=False,
    )
