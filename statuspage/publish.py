"""What the Cloud Run job runs every minute: measure, render, upload to the public bucket.

`python -m statuspage.publish` reads its settings from the environment the component sets
(`STATUSPAGE_BUCKET`, `STATUSPAGE_PROJECT`, `STATUSPAGE_TITLE`, `STATUSPAGE_SITE_URL`). The
notices are the YAML files `pulumi up` uploads from `statuspage/incidents/` to the bucket's
`notices/` prefix, so posting an incident update is a reviewed merge, not a new image.

Uploads go through Cloud Storage's JSON API with the job's own credentials (google-auth's
`AuthorizedSession`), each object with a short `Cache-Control`: a public object is otherwise
cached for an hour by Google's edge, and the page would lag the service it describes.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from statuspage.notices import Notice, newest_first, parse_notice_text
from statuspage.render import content_type, render_site
from statuspage.report import build_report
from statuspage.sources import Source

STORAGE_API = "https://storage.googleapis.com"
NOTICES_PREFIX = "notices/"
# Regenerated every minute: a reader is at most about a minute and a half behind.
CACHE_CONTROL = {
    ".html": "public, max-age=30",
    ".json": "public, max-age=30",
    ".atom": "public, max-age=60",
    # README badges go through GitHub's image proxy, which honours this; uptime moves slowly.
    ".svg": "public, max-age=300",
}
TIMEOUT_SECONDS = 30


class HttpSession(Protocol):
    """What the publisher needs of `requests.Session` (and so of `AuthorizedSession`)."""

    def get(self, url: str, **kwargs: Any) -> Any: ...

    def post(self, url: str, **kwargs: Any) -> Any: ...


class PublishError(RuntimeError):
    """Cloud Storage refused a request: the message names the object and the answer."""


def cache_control(path: str) -> str:
    return CACHE_CONTROL[Path(path).suffix]


def _check(response: Any, what: str) -> Any:
    if response.status_code >= 400:
        raise PublishError(f"{what}: Cloud Storage answered {response.status_code}: {response.text[:300]}")
    return response


@dataclass(frozen=True)
class Bucket:
    name: str
    session: HttpSession
    api: str = STORAGE_API

    def _object_url(self, name: str) -> str:
        return f"{self.api}/storage/v1/b/{self.name}/o/{urllib.parse.quote(name, safe='')}"

    def list(self, prefix: str) -> list[str]:
        names: list[str] = []
        page_token = ""
        while True:
            params = {"prefix": prefix, "fields": "items(name),nextPageToken"}
            if page_token:
                params["pageToken"] = page_token
            response = _check(
                self.session.get(f"{self.api}/storage/v1/b/{self.name}/o", params=params, timeout=TIMEOUT_SECONDS),
                f"list gs://{self.name}/{prefix}",
            )
            document = response.json()
            names += [item["name"] for item in document.get("items", [])]
            page_token = document.get("nextPageToken", "")
            if not page_token:
                return names

    def read(self, name: str) -> str:
        response = self.session.get(self._object_url(name), params={"alt": "media"}, timeout=TIMEOUT_SECONDS)
        return _check(response, f"read gs://{self.name}/{name}").content.decode("utf-8")

    def write(self, name: str, content: str, content_type: str, cache_control: str) -> None:
        """One multipart upload: the object's metadata and its bytes in one request."""
        boundary = f"omni-{uuid.uuid4().hex}"
        metadata = json.dumps({"name": name, "contentType": content_type, "cacheControl": cache_control})
        body = (
            (
                f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n"
                f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n"
            ).encode()
            + content.encode("utf-8")
            + f"\r\n--{boundary}--\r\n".encode()
        )
        response = self.session.post(
            f"{self.api}/upload/storage/v1/b/{self.name}/o",
            params={"uploadType": "multipart"},
            data=body,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
            timeout=TIMEOUT_SECONDS,
        )
        _check(response, f"upload gs://{self.name}/{name}")


def read_notices(bucket: Bucket) -> list[Notice]:
    """The notices under `notices/` (a bad one stops the run: the previous page stays up)."""
    notices = []
    for name in bucket.list(NOTICES_PREFIX):
        if name.endswith(".yaml"):
            notice_id = name.removeprefix(NOTICES_PREFIX).removesuffix(".yaml")
            notices.append(parse_notice_text(bucket.read(name), notice_id, f"gs://{bucket.name}/{name}"))
    return newest_first(notices)


def publish(bucket: Bucket, source: Source, title: str, site_url: str, now: datetime.datetime) -> list[str]:
    """Render the page from `source` and the bucket's notices, upload every file; the names written.

    The HTML goes last, so a reader never sees a new page whose status.json is still the old one."""
    from statuspage.model import PUBLIC_COMPONENTS

    notices = read_notices(bucket)
    report = build_report(title, source.measure(PUBLIC_COMPONENTS, now), notices, now, source.name)
    files = render_site(report, site_url)
    order = sorted(files, key=lambda name: (name == "index.html", name))
    for name in order:
        bucket.write(name, files[name], content_type(name), cache_control(name))
    return order


def settings_from(environment: Mapping[str, str]) -> dict[str, str]:
    missing = [key for key in ("STATUSPAGE_BUCKET", "STATUSPAGE_PROJECT") if not environment.get(key)]
    if missing:
        raise KeyError(f"set {', '.join(missing)} (the status page component sets them on the job)")
    return {
        "bucket": environment["STATUSPAGE_BUCKET"],
        "project": environment["STATUSPAGE_PROJECT"],
        "title": environment.get("STATUSPAGE_TITLE", "Omni API status"),
        "site_url": environment.get("STATUSPAGE_SITE_URL", ""),
    }


def main() -> int:
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    from statuspage.sources.gcp import GcpSource

    settings = settings_from(os.environ)
    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/devstorage.read_write"])
    bucket = Bucket(settings["bucket"], AuthorizedSession(credentials))
    written = publish(
        bucket,
        GcpSource(settings["project"]),
        settings["title"],
        settings["site_url"],
        datetime.datetime.now(datetime.UTC),
    )
    # One line for Cloud Logging per run.
    print(json.dumps({"severity": "INFO", "message": f"published {len(written)} files to gs://{bucket.name}"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
