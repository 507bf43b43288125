"""The static site: `index.html`, `status.json`, `feed.atom` and `badges/*.svg`, from one report.

Jinja2 templates in `statuspage/templates/`; the CSS is inlined into the page, which loads
nothing else (no fonts, scripts or images from anywhere), works without JavaScript, on a phone,
and in dark mode. Output is deterministic for a given report.
"""

from __future__ import annotations

import datetime
import json
import uuid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from statuspage.badges import uptime_badge
from statuspage.model import PUBLIC_COMPONENTS, UPTIME_WINDOWS
from statuspage.notices import Notice
from statuspage.report import StatusReport, percent, uptime_band

TEMPLATES = Path(__file__).resolve().parent / "templates"
SCHEMA_VERSION = 1
BADGE_WINDOWS = UPTIME_WINDOWS
COMPONENT_NAMES = {component.id: component.name for component in PUBLIC_COMPONENTS}
# Where each file type goes and the Content-Type it is served with.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".atom": "application/atom+xml",
    ".svg": "image/svg+xml",
}


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "atom"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["percent"] = percent
    environment.filters["band"] = uptime_band
    environment.filters["iso"] = iso
    environment.filters["human_time"] = human_time
    environment.filters["human_day"] = lambda day: day.strftime("%-d %b %Y")
    environment.filters["component_name"] = lambda component_id: COMPONENT_NAMES.get(component_id, component_id)
    return environment


def iso(moment: datetime.datetime) -> str:
    """RFC 3339 in UTC with `Z`, as Atom and JSON readers expect."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%-d %b %Y, %H:%M UTC")


def notice_uuid(notice_id: str, site: str) -> str:
    """A permanent Atom id: the same notice keeps it across renders and updates."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{site}#{notice_id}')}"


def _notice_json(notice: Notice, now: datetime.datetime) -> dict[str, Any]:
    return {
        "id": notice.id,
        "title": notice.title,
        "kind": notice.kind,
        "impact": notice.impact,
        "status": notice.status,
        "active": notice.state_for(now) is not None,
        "components": list(notice.components),
        "started_at": iso(notice.started),
        "updated_at": iso(notice.last_updated),
        "resolved_at": iso(notice.resolved_at) if notice.resolved_at else None,
        "window": {"start": iso(notice.window.start), "end": iso(notice.window.end)} if notice.window else None,
        "updates": [{"at": iso(u.at), "status": u.status, "message": u.message} for u in notice.updates],
    }


def status_document(report: StatusReport) -> dict[str, Any]:
    """status.json: what machines read (`statuspage/status.schema.json` is its schema)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "title": report.title,
        "generated_at": iso(report.generated_at),
        "source": report.source,
        "demo": report.demo,
        "status": {"state": report.state.value, "description": report.message},
        "components": [
            {
                "id": status.component.id,
                "name": status.component.name,
                "description": status.component.description,
                "state": status.state.value,
                "measured_state": status.measured.state.value,
                "uptime": {window: status.windows.get(window) for window in (*UPTIME_WINDOWS, "90d")},
                "history": [{"date": day.day.isoformat(), "uptime": day.ratio} for day in status.days],
            }
            for status in report.components
        ],
        "incidents": [_notice_json(n, report.generated_at) for n in report.notices if n.kind == "incident"],
        "maintenance": [_notice_json(n, report.generated_at) for n in report.notices if n.kind == "maintenance"],
        "slos": [
            {"name": slo.name, "description": slo.description, "objective": slo.objective, "compliance": slo.compliance}
            for slo in report.slos
        ],
    }


def render_site(report: StatusReport, site_url: str = "") -> dict[str, str]:
    """Relative path -> content of every file of the site. `site_url` (ending in `/`) makes the
    feed's links absolute; without it they are relative to the feed."""
    environment = _environment()
    context = {
        "report": report,
        "site_url": site_url,
        "windows": UPTIME_WINDOWS,
        "css": (TEMPLATES / "style.css").read_text(),
    }
    files = {
        "index.html": environment.get_template("index.html").render(context),
        "feed.atom": environment.get_template("feed.atom").render(
            {
                **context,
                "feed_id": notice_uuid("feed", site_url or report.title),
                "notice_uuid": lambda n: notice_uuid(n.id, site_url or report.title),
            }
        ),
        "status.json": json.dumps(status_document(report), indent=2, sort_keys=True) + "\n",
    }
    for status in report.components:
        for window in BADGE_WINDOWS:
            files[f"badges/{status.component.id}-{window}.svg"] = uptime_badge(
                status.component.name, window, status.windows.get(window)
            )
    return files


def write_site(report: StatusReport, out: Path, site_url: str = "") -> list[Path]:
    """Write every file under `out`; returns the paths written, in order."""
    written = []
    for relative, content in sorted(render_site(report, site_url).items()):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def content_type(path: str) -> str:
    return CONTENT_TYPES[Path(path).suffix]
