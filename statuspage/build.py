"""One call for the CLI: pick a source, read the notices, render the site into a directory.

`--source demo` (the default) needs nothing: the bundled data set, its own notices and a fixed
clock. `--source <Prometheus URL>` reads the app's metrics from that server; `--source gcp`
reads Cloud Monitoring with Application Default Credentials. Both list the repository's notices.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from statuspage.model import PUBLIC_COMPONENTS
from statuspage.notices import NOTICES_DIR, load_notices
from statuspage.render import write_site
from statuspage.report import build_report
from statuspage.sources import Source

DEFAULT_TITLE = "Omni API status"


class SourceSpecError(ValueError):
    """`--source` named nothing the page can read."""


def make_source(spec: str, project: str | None = None) -> Source:
    from statuspage.sources.demo import DemoSource

    if spec == "demo":
        return DemoSource()
    if spec == "gcp":
        if not project:
            raise SourceSpecError("--source gcp needs the project: --project <id> (or GOOGLE_CLOUD_PROJECT)")
        from statuspage.sources.gcp import GcpSource

        return GcpSource(project)
    if spec.startswith(("http://", "https://")):
        from statuspage.sources.prometheus import PrometheusSource

        return PrometheusSource(spec)
    raise SourceSpecError(f"--source {spec!r}: use demo, gcp, or a Prometheus URL like http://127.0.0.1:9090")


def render_status_page(
    out: Path,
    spec: str = "demo",
    title: str = DEFAULT_TITLE,
    project: str | None = None,
    notices_dir: Path = NOTICES_DIR,
    now: datetime.datetime | None = None,
) -> list[Path]:
    """Render every file of the page under `out`; the paths written."""
    from statuspage.sources.demo import DEMO_NOW, DemoSource

    source = make_source(spec, project)
    if isinstance(source, DemoSource):
        notices, moment = source.notices, now or DEMO_NOW
    else:
        notices, moment = load_notices(notices_dir), now or datetime.datetime.now(datetime.UTC)
    data = source.measure(PUBLIC_COMPONENTS, moment)
    report = build_report(title, data, notices, moment, source.name, demo=isinstance(source, DemoSource))
    return write_site(report, out)
