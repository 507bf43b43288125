"""A public static site in a Cloud Storage bucket: the status page and the API reference.

Both are for everyone: anyone may fetch an object by its name, nobody may list the bucket. The
bucket's `public_access_prevention` is `inherited`, so an organization policy enforcing public
access prevention must exempt it (docs/platform.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_gcp as gcp

from components.options import child_options

# `storage.objects.get` alone: a page by its name. (`objectViewer` would add `storage.objects.list`,
# publishing every object name.)
PUBLIC_READER_ROLE = "roles/storage.legacyObjectReader"
# Where a bucket serves without the edge in front.
PUBLIC_URL = "https://storage.googleapis.com/{bucket}/"


def public_site_bucket(
    name: str,
    parent: pulumi.Resource,
    opts: pulumi.ResourceOptions | None,
    *,
    bucket: str,
    project: str,
    region: str,
    website: gcp.storage.BucketWebsiteArgsDict,
    labels: Mapping[str, str],
    protect: bool,
) -> gcp.storage.Bucket:
    """`<name>-site`, a regional bucket in `region` (Pulumi `protect` and no force-destroy when
    `protect`), and `<name>-site-public`, everyone's read grant on its objects."""
    site = gcp.storage.Bucket(
        f"{name}-site",
        name=bucket,
        project=project,
        location=region.upper(),
        storage_class="STANDARD",
        uniform_bucket_level_access=True,
        public_access_prevention="inherited",
        website=website,
        force_destroy=not protect,
        labels=dict(labels),
        opts=child_options(parent, opts, protect=protect),
    )
    gcp.storage.BucketIAMMember(
        f"{name}-site-public",
        bucket=site.name,
        role=PUBLIC_READER_ROLE,
        member="allUsers",
        opts=child_options(parent, opts),
    )
    return site
