"""The API reference site: the OpenAPI document and its explorer page in a public bucket, served
by the edge through Cloud CDN under `/reference/` of the portal's host (components/edge `BucketPath`).

- **Bucket**: objects readable by `allUsers` by name, never listable
  (`roles/storage.legacyObjectReader`), uniform access, the website config's index page so that
  `/reference/` serves `reference/index.html`.
- **Objects**: `reference/index.html` and `reference/openapi.json`, rendered by `apireference`
  with the stack's API address; their `content` changes in place at each `pulumi up` (a change of
  `metadata` would replace an object), each with its content type and a short Cache-Control that
  the CDN honours up to `edge.cdn.maxTtlSec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from apireference import load_spec, reference_files
from apireference.render import CACHE_CONTROL, PAGE_TYPE, SPEC_TYPE
from components.options import child_options
from components.public_site import PUBLIC_URL, public_site_bucket

SITE_FOLDER = "reference"
FILE_TYPES = {"index.html": PAGE_TYPE, "openapi.json": SPEC_TYPE}


@dataclass(frozen=True)
class ApiReferenceArgs:
    project: str
    region: str
    bucket: str
    """The public bucket's name (globally unique)."""
    api_url: pulumi.Input[str]
    """Where the explorer sends requests: the API's public address."""
    spec: Mapping[str, Any] = field(default_factory=load_spec)
    """The OpenAPI document (`apireference/openapi.yaml`)."""
    site_url: str | None = None
    """The site's address on the edge (`https://portal.omni.example/reference/`); None: the bucket's
    storage.googleapis.com address."""
    protect: bool = True
    """Pulumi `protect` on the bucket, and not force-destroyed."""
    labels: Mapping[str, str] = field(default_factory=dict)


class ApiReference(pulumi.ComponentResource):
    bucket: gcp.storage.Bucket
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ApiReferenceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:portal:ApiReference", name, None, opts)
        child = child_options(self, opts)
        self.bucket = public_site_bucket(
            name,
            self,
            opts,
            bucket=args.bucket,
            project=args.project,
            region=args.region,
            website={"main_page_suffix": "index.html"},
            labels={**args.labels, "service": "portal"},
            protect=args.protect,
        )
        files = pulumi.Output.from_input(args.api_url).apply(lambda url: reference_files(args.spec, url))
        for file_name, content_type in FILE_TYPES.items():
            gcp.storage.BucketObject(
                f"{name}-{file_name.replace('.', '-')}",
                bucket=self.bucket.name,
                name=f"{SITE_FOLDER}/{file_name}",
                content=files.apply(lambda built, file_name=file_name: built[file_name][0]),
                content_type=content_type,
                cache_control=CACHE_CONTROL,
                # A new content type or Cache-Control replaces the object under the same name: the old
                # one goes first, or its delete after the create would remove the new file.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)),
            )
        self.url = (
            pulumi.Output.from_input(args.site_url)
            if args.site_url
            else self.bucket.name.apply(lambda bucket: PUBLIC_URL.format(bucket=bucket) + f"{SITE_FOLDER}/index.html")
        )
        self.register_outputs({"url": self.url, "bucket": self.bucket.name})
