"""The status page generator: notices, sources, the report, and every file it writes."""

from __future__ import annotations

import datetime
import http.server
import json
import re
import subprocess
import threading
import urllib.parse
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
import requests
from typer.testing import CliRunner

from cli.main import app
from statuspage.build import render_status_page
from statuspage.model import HISTORY_DAYS, PUBLIC_COMPONENTS, DailyUptime, Measurement, State, history_days
from statuspage.notices import NoticeError, load_notices, parse_notice, parse_notice_text
from statuspage.publish import CACHE_CONTROL, Bucket, publish
from statuspage.render import render_site, status_document
from statuspage.report import build_report, percent
from statuspage.sources import SourceData
from statuspage.sources.demo import DEMO_NOTICES_DIR, DEMO_NOW, DemoSource
from statuspage.sources.gcp import state_from_locations
from statuspage.sources.prometheus import PrometheusSource

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "statuspage" / "status.schema.json").read_text())
UTC = datetime.UTC


@pytest.fixture(scope="module")
def demo_site() -> dict[str, str]:
    source = DemoSource()
    report = build_report(
        "Omni API status", source.measure(PUBLIC_COMPONENTS, DEMO_NOW), source.notices, DEMO_NOW, "demo", demo=True
    )
    return render_site(report, "https://status.example.com/")


def write_notice(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


INCIDENT = """
title: Slow sign-in
kind: incident
impact: degraded
components: [auth]
updates:
  - at: 2026-11-20T10:00:00Z
    status: investigating
    message: Looking into it.
"""


# --- notices -----------------------------------------------------------------------------------


def test_every_bundled_notice_file_is_valid():
    assert len(load_notices(DEMO_NOTICES_DIR)) == 5
    assert load_notices() == []  # production has none yet; the directory documents the format


def test_a_malformed_notice_names_the_file_and_the_key(tmp_path):
    path = write_notice(tmp_path, "bad", INCIDENT.replace("status: investigating", "status: fixing"))
    with pytest.raises(NoticeError, match=r"bad\.yaml: updates\.0\.status: 'fixing' is not a incident status"):
        parse_notice(path)
    path = write_notice(tmp_path, "typo", INCIDENT.replace("impact:", "impcat:"))
    with pytest.raises(NoticeError, match=r"typo\.yaml: .*impcat: Extra inputs are not permitted"):
        parse_notice(path)
    path = write_notice(tmp_path, "naive", INCIDENT.replace("10:00:00Z", "10:00:00"))
    with pytest.raises(NoticeError, match=r"naive\.yaml: updates\.0\.at: .*time zone"):
        parse_notice(path)
    with pytest.raises(NoticeError, match=r"x\.yaml: components: unknown component billing"):
        parse_notice_text(INCIDENT.replace("[auth]", "[billing]"), "x", "x.yaml")


def test_a_maintenance_needs_a_window_and_an_incident_an_impact():
    with pytest.raises(NoticeError, match="window: a maintenance needs"):
        parse_notice_text(
            INCIDENT.replace("kind: incident", "kind: maintenance")
            .replace("impact: degraded\n", "")
            .replace("investigating", "scheduled"),
            "m",
            "m.yaml",
        )
    with pytest.raises(NoticeError, match="impact: an incident says how bad"):
        parse_notice_text(INCIDENT.replace("impact: degraded\n", ""), "i", "i.yaml")


def test_a_declared_incident_overrides_passing_checks():
    notice = parse_notice_text(INCIDENT, "slow-sign-in", "x.yaml")
    now = datetime.datetime(2026, 11, 20, 11, tzinfo=UTC)
    healthy = SourceData(tuple(measurement(c.id, State.OPERATIONAL, now) for c in PUBLIC_COMPONENTS))
    report = build_report("t", healthy, [notice], now, "test")
    states = {status.component.id: status.state for status in report.components}
    assert states == {
        "api": State.OPERATIONAL,
        "auth": State.DEGRADED,
        "tasks": State.OPERATIONAL,
        "workers": State.OPERATIONAL,
    }
    assert report.state is State.DEGRADED
    assert report.active == (notice,)


def measurement(component_id: str, state: State, now: datetime.datetime, ratio: float | None = 1.0) -> Measurement:
    return Measurement(
        component_id, state, tuple(DailyUptime(day, ratio) for day in history_days(now.date())), {"24h": ratio}
    )


# --- the demo data set and the report ------------------------------------------------------------


def test_demo_uptime_reflects_the_demo_incidents():
    data = DemoSource().measure(PUBLIC_COMPONENTS, DEMO_NOW)
    api = next(m for m in data.measurements if m.component_id == "api")
    outage_day = next(day for day in api.days if day.day == datetime.date(2026, 10, 14))
    # 27 minutes of outage (10:02 to 10:29), plus at most a few minutes of background blips.
    assert 1 - 27 / 1440 - 6 / 1440 <= outage_day.ratio <= 1 - 27 / 1440  # type: ignore[operator]
    tasks = next(m for m in data.measurements if m.component_id == "tasks")
    assert tasks.state is State.DEGRADED  # the open demo incident


def test_percentages_never_round_up_to_a_perfect_score():
    assert percent(0.99999) == "99.99%"
    assert percent(1.0) == "100.00%"
    assert percent(None) == "no data"


# --- the files -----------------------------------------------------------------------------------


def test_status_json_follows_its_schema(demo_site):
    document = json.loads(demo_site["status.json"])
    jsonschema.validate(document, SCHEMA)
    assert [c["id"] for c in document["components"]] == ["api", "auth", "tasks", "workers"]
    assert all(len(c["history"]) == HISTORY_DAYS for c in document["components"])
    assert document["status"]["state"] == "degraded"
    assert {i["id"] for i in document["incidents"] if i["active"]} == {"2026-11-24-task-submission-delays"}


def test_the_atom_feed_is_valid_atom_with_one_entry_per_notice(demo_site):
    feed = ElementTree.fromstring(demo_site["feed.atom"].encode())
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 5
    for entry in entries:
        for required in ("id", "title", "updated", "link", "content"):
            assert entry.find(f"{ATOM}{required}") is not None, required
        datetime.datetime.fromisoformat(entry.findtext(f"{ATOM}updated", "").replace("Z", "+00:00"))
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(set(ids)) == len(ids)
    # The HTML content is escaped once for XML: a reader gets real markup back.
    assert entries[0].findtext(f"{ATOM}content", "").startswith("<p>")


def test_the_page_loads_nothing_from_anywhere_else(demo_site):
    page = demo_site["index.html"]
    assert "<script" not in page
    for attribute in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert not attribute.startswith(("http:", "https:", "//")), attribute
    assert "@import" not in page
    assert "url(" not in page


def test_every_component_has_a_badge_per_window(demo_site):
    badges = sorted(name for name in demo_site if name.startswith("badges/"))
    assert len(badges) == len(PUBLIC_COMPONENTS) * 3
    badge = ElementTree.fromstring(demo_site["badges/tasks-24h.svg"])
    assert badge.get("role") == "img"
    assert badge.findtext("{http://www.w3.org/2000/svg}title") == "Task submission uptime 24h: 94.16%"


def test_two_renders_are_identical(tmp_path):
    first = [path.read_bytes() for path in render_status_page(tmp_path / "a")]
    second = [path.read_bytes() for path in render_status_page(tmp_path / "b")]
    assert first == second


# --- sources ------------------------------------------------------------------------------------


def test_one_failing_checker_location_is_degraded_two_are_an_outage():
    assert state_from_locations([1, 1, 1, 1, 1, 1]) is State.OPERATIONAL
    assert state_from_locations([1, 0, 1, 1, 1, 1]) is State.DEGRADED
    assert state_from_locations([0, 0, 1, 1, 1, 1]) is State.OUTAGE
    assert state_from_locations([]) is State.UNKNOWN


def _openmetrics(now: float, hours: int) -> str:
    """Two days of the API answering 10 requests a second, 1% of them 5xx during the last hour,
    and one Celery worker up throughout."""
    lines = ["# TYPE omni_http_requests counter", "# TYPE omni_celery_workers gauge"]
    start = now - hours * 3600
    steps = range(hours * 60 + 1)
    for code in ("200", "500"):
        total = 0.0
        for step in steps:
            at = start + step * 60
            errors_now = at > now - 3600
            total += 600 * (0.01 if errors_now else 0) if code == "500" else 600 * (0.99 if errors_now else 1)
            lines.append(
                f'omni_http_requests_total{{service="api",route="/v1/items",'
                f'method="GET",code="{code}"}} {total} {at:.3f}'
            )
    lines += [f'omni_celery_workers{{service="worker"}} 1 {start + step * 60:.3f}' for step in steps]
    return "\n".join(lines) + "\n# EOF\n"


def test_the_prometheus_source_reads_a_real_prometheus(tmp_path):
    from lab.monitoring import prometheus

    now = datetime.datetime.now(UTC).replace(microsecond=0)
    history = tmp_path / "history.om"
    history.write_text(_openmetrics(now.timestamp() - 30, 48))
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(history), str(tmp_path / "blocks")],
        check=True,
    )
    with prometheus("global: {scrape_interval: 1m}\n", {}, history_blocks=tmp_path / "blocks") as server:
        data = PrometheusSource(server.url).measure(PUBLIC_COMPONENTS, now)
    by_id = {m.component_id: m for m in data.measurements}
    assert by_id["api"].state is State.DEGRADED  # 99% over the last 5 minutes
    assert by_id["api"].days[0].ratio is None  # 90 days ago: no data, not 100%
    yesterday = by_id["api"].days[-2].ratio
    assert yesterday is not None
    assert 0.99 <= yesterday <= 1.0
    assert by_id["workers"].state is State.OPERATIONAL
    assert by_id["workers"].windows["24h"] == pytest.approx(1.0)
    assert by_id["auth"].state is State.UNKNOWN  # no auth routes in this data


# --- publishing ---------------------------------------------------------------------------------


class _FakeStorage(http.server.BaseHTTPRequestHandler):
    """The three Cloud Storage JSON API calls the publisher makes, on 127.0.0.1."""

    objects: ClassVar[dict[str, tuple[str, dict[str, Any]]]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith("/o"):
            body = json.dumps(
                {"items": [{"name": n} for n in sorted(self.objects) if n.startswith("notices/")]}
            ).encode()
        else:
            name = urllib.parse.unquote(path.rsplit("/o/", 1)[1])
            body = self.objects[name][0].encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
        boundary = self.headers["Content-Type"].split("boundary=")[1]
        parts = [part.split("\r\n\r\n", 1)[1].rstrip("\r\n") for part in raw.split(f"--{boundary}")[1:-1]]
        metadata = json.loads(parts[0])
        self.objects[metadata["name"]] = (parts[1], metadata)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")


def test_publish_uploads_every_file_with_a_short_cache_lifetime():
    _FakeStorage.objects = {"notices/slow-sign-in.yaml": (INCIDENT, {})}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeStorage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        bucket = Bucket("omni-status", requests.Session(), api=f"http://127.0.0.1:{server.server_address[1]}")
        now = datetime.datetime(2026, 11, 20, 11, tzinfo=UTC)
        written = publish(bucket, DemoSource(notices=[]), "Omni API status", "", now)
    finally:
        server.shutdown()
    assert written[-1] == "index.html"  # the page last, after the data it links to
    uploaded = {name: meta for name, (_, meta) in _FakeStorage.objects.items() if not name.startswith("notices/")}
    assert set(uploaded) == set(written)
    assert uploaded["index.html"] == {
        "name": "index.html",
        "contentType": "text/html; charset=utf-8",
        "cacheControl": CACHE_CONTROL[".html"],
    }
    assert all(int(meta["cacheControl"].split("max-age=")[1]) <= 300 for meta in uploaded.values())
    page_json = json.loads(_FakeStorage.objects["status.json"][0])
    assert page_json["incidents"][0]["id"] == "slow-sign-in"  # read from the bucket's notices/


# --- the command --------------------------------------------------------------------------------


def test_cli_renders_the_demo_without_credentials(tmp_path):
    result = CliRunner().invoke(app, ["statuspage", "render", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "wrote 15 files" in result.output
    assert json.loads((tmp_path / "status.json").read_text())["demo"] is True


def test_cli_refuses_an_unknown_source(tmp_path):
    result = CliRunner().invoke(app, ["statuspage", "render", "--out", str(tmp_path), "--source", "nagios"])
    assert result.exit_code == 2
    assert "use demo, gcp, or a Prometheus URL" in result.output


def test_cli_lists_its_commands():
    result = CliRunner().invoke(app, ["statuspage", "--help"])
    assert result.exit_code == 0
    assert "render" in result.output
    assert "serve" in result.output


def test_status_document_of_a_report_without_data_says_no_data():
    now = datetime.datetime(2026, 11, 20, 11, tzinfo=UTC)
    blind = SourceData(tuple(measurement(c.id, State.UNKNOWN, now, None) for c in PUBLIC_COMPONENTS))
    document = status_document(build_report("t", blind, [], now, "prometheus"))
    jsonschema.validate(document, SCHEMA)
    assert document["status"]["state"] == "unknown"
    assert document["components"][0]["uptime"]["90d"] is None


# --- the Cloud Monitoring source, over the client library's own message types --------------------


class _UptimeChecks:
    def list_uptime_check_configs(self, request: dict[str, Any]) -> list[Any]:
        from google.cloud import monitoring_v3

        assert request == {"parent": "projects/omni-api-prod"}
        return [
            monitoring_v3.UptimeCheckConfig(
                name=f"projects/omni-api-prod/uptimeCheckConfigs/omni-prod-status-{c}-x1",
                user_labels={"statuspage-component": c},
            )
            for c in ("api", "workers")
        ] + [monitoring_v3.UptimeCheckConfig(name="projects/omni-api-prod/uptimeCheckConfigs/other", user_labels={})]


class _TimeSeries:
    """Answers as Cloud Monitoring would for `api`: 99.5% on every past day, one of six
    locations failing now; records each request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def list_time_series(self, request: dict[str, Any]) -> list[Any]:
        from google.cloud import monitoring_v3

        self.requests.append(request)
        period = request["aggregation"]["alignment_period"]["seconds"]
        start, end = request["interval"]["start_time"], request["interval"]["end_time"]

        def series(value: float, at: datetime.datetime) -> Any:
            point = monitoring_v3.Point(
                interval=monitoring_v3.TimeInterval(end_time=at), value=monitoring_v3.TypedValue(double_value=value)
            )
            return monitoring_v3.TimeSeries(points=[point])

        if "cross_series_reducer" not in request["aggregation"]:
            return [series(0.0 if location == 0 else 1.0, end) for location in range(6)]
        if period == 86_400 and end.time() == datetime.time():  # whole days, ending at midnight
            days = int((end - start).total_seconds() // 86_400)
            return [
                monitoring_v3.TimeSeries(
                    points=[series(0.995, end - datetime.timedelta(days=n)).points[0] for n in range(days)]
                )
            ]
        return [series(0.999, end)]


def test_the_gcp_source_reads_each_components_labelled_uptime_check():
    from statuspage.sources.gcp import CHECK_PASSED, CloudMonitoring, uptime_checks

    checks = uptime_checks(_UptimeChecks(), "omni-api-prod")
    assert checks == {"api": "omni-prod-status-api-x1", "workers": "omni-prod-status-workers-x1"}
    metrics = _TimeSeries()
    now = datetime.datetime(2026, 11, 24, 12, tzinfo=UTC)
    api = CloudMonitoring(metrics, "omni-api-prod").measure(PUBLIC_COMPONENTS[0], checks["api"], now)
    assert api.state is State.DEGRADED  # one location of six failing
    assert [day.ratio for day in api.days[:-1]] == [0.995] * (HISTORY_DAYS - 1)
    assert api.days[-1].ratio == 0.999
    assert api.windows == {"24h": 0.999, "7d": 0.999, "30d": 0.999}
    assert all(
        r["filter"] == f'metric.type = "{CHECK_PASSED}" AND metric.labels.check_id = "omni-prod-status-api-x1"'
        for r in metrics.requests
    )
    # A component whose check is not found yet shows no data, never 100%.
    tasks = CloudMonitoring(metrics, "omni-api-prod").measure(PUBLIC_COMPONENTS[2], None, now)
    assert tasks.state is State.UNKNOWN
    assert tasks.uptime_90d is None


def test_serve_shows_the_page_on_loopback(tmp_path):
    import socket
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "statuspage", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/index.html", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert page.status_code == 200
        assert "Omni API status" in page.text
    finally:
        server.terminate()
        server.wait(timeout=10)
