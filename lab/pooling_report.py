"""The pooling lab's results as one self-contained HTML page: the table, the invariants, and
charts of latency and server connections over time, drawn as inline SVG (no script, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from lab.pooling_model import PoolingLabResult, RunResult

# One colour per run, distinguishable in grey too (Okabe-Ito palette, colour-blind safe).
COLOURS = ("#0072B2", "#56B4E9", "#D55E00", "#E69F00", "#009E73", "#CC79A7")
WIDTH, HEIGHT = 720, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 16, 36

Series = tuple[str, str, Sequence[tuple[float, float]]]  # label, colour, (x, y) points


def render_report(result: PoolingLabResult) -> str:
    runs = result.runs
    settings = result.settings
    connections = [
        (run.plan.name, colour, [(s.at_seconds, float(s.server_connections)) for s in run.connections])
        for run, colour in zip(runs, COLOURS, strict=False)
    ]
    p95 = [
        (run.plan.name, colour, [(s.at_seconds, s.p95_ms) for s in run.latency if s.requests_per_second > 0])
        for run, colour in zip(runs, COLOURS, strict=False)
    ]
    p50 = [
        (run.plan.name, colour, [(s.at_seconds, s.p50_ms) for s in run.latency if s.requests_per_second > 0])
        for run, colour in zip(runs, COLOURS, strict=False)
    ]
    # The runs' users all arrive within a second of each other: one line marks them all.
    measured_from = max((run.measured_from_seconds for run in runs), default=0.0)
    verdict = "every invariant held" if result.passed else "an invariant failed"
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>Pooling and caching lab</title>",
            "<style>",
            "body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:760px;color:#1b1b1b}",
            "table{border-collapse:collapse;margin:1rem 0}th,td{padding:.3rem .6rem;border-bottom:1px solid #ccc}",
            "td.n{text-align:right;font-variant-numeric:tabular-nums}.pass{color:#05661f}.fail{color:#b00020}",
            "svg text{font:11px system-ui,sans-serif;fill:#333}.legend span{margin-right:1rem;white-space:nowrap}",
            "</style></head><body>",
            "<h1>Pooling and caching lab</h1>",
            f"<p>{settings.users} users per run, arriving over {settings.warmup_seconds} s, then measured for "
            f"{settings.duration_seconds} s; PgBouncer pool "
            f"{settings.pool_size} (transaction mode); {settings.api_instances} API instances, each pooling "
            f"{settings.api_pool_size} + {settings.api_max_overflow} connections; uncached item read "
            f"{settings.item_query_ms:g} ms. "
            f'Result: <strong class="{"pass" if result.passed else "fail"}">{verdict}</strong>.</p>',
            _table(runs),
            "<h2>Invariants</h2>",
            "<ul>"
            + "".join(
                f'<li class="{"pass" if i.passed else "fail"}">{"pass" if i.passed else "FAIL"}: '
                f"{escape(i.name)} ({escape(i.detail)})</li>"
                for i in result.invariants
            )
            + "</ul>",
            "<h2>Server connections over time</h2>",
            "<p>Client backends of the application's role in <code>pg_stat_activity</code>, every 250 ms.</p>",
            _chart(
                connections,
                "connections",
                measured_from,
                horizontal=(float(settings.pool_size), f"PgBouncer pool ({settings.pool_size})"),
            ),
            "<h2>p95 latency over time</h2>",
            "<p>Locust's recent window (10 s), every second, all routes.</p>",
            _chart(p95, "ms", measured_from),
            "<h2>p50 latency over time</h2>",
            _chart(p50, "ms", measured_from),
            "</body></html>",
            "",
        ]
    )


def _table(runs: Sequence[RunResult]) -> str:
    header = ("run", "peak server connections", "p50 (ms)", "p95 (ms)", "requests/s", "errors", "cache hit rate")
    rows = []
    for run in runs:
        hit_rate = "-" if run.hit_rate is None else f"{run.hit_rate:.1%}"
        cells = (
            f"{run.peak_server_connections}",
            f"{run.p50_ms:.0f}",
            f"{run.p95_ms:.0f}",
            f"{run.requests_per_second:.1f}",
            f"{run.failures} ({run.error_ratio:.2%})",
            hit_rate,
        )
        rows.append(
            f"<tr><td>{escape(run.plan.name)}</td>" + "".join(f'<td class="n">{c}</td>' for c in cells) + "</tr>"
        )
    return (
        "<table><thead><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in header)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _chart(
    series: Sequence[Series], unit: str, measured_from: float, horizontal: tuple[float, str] | None = None
) -> str:
    points = [point for _, _, line in series for point in line]
    if not points:
        return "<p>(no samples)</p>"
    x_min = min(min(x for x, _ in points), 0.0)
    x_max = max(max(x for x, _ in points), x_min + 1.0)
    y_max = max([y for _, y in points] + ([horizontal[0]] if horizontal else [])) * 1.1 or 1.0
    plot_width, plot_height = WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def sx(x: float) -> float:
        return MARGIN_LEFT + (x - x_min) / (x_max - x_min) * plot_width

    def sy(y: float) -> float:
        return MARGIN_TOP + plot_height - y / y_max * plot_height

    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{escape(unit)} over time">']
    for step in range(5):  # grid and y labels
        value = y_max * step / 4
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{sy(value):.1f}" y2="{sy(value):.1f}" '
            'stroke="#e3e3e3"/>'
        )
        parts.append(f'<text x="{MARGIN_LEFT - 6}" y="{sy(value) + 4:.1f}" text-anchor="end">{value:.0f}</text>')
    for step in range(5):  # x labels
        value = x_min + (x_max - x_min) * step / 4
        parts.append(f'<text x="{sx(value):.1f}" y="{HEIGHT - 18}" text-anchor="middle">{value:.0f} s</text>')
    parts.append(
        f'<text x="{MARGIN_LEFT}" y="{HEIGHT - 2}">{escape(unit)}, by seconds from the start of the load</text>'
    )
    if measured_from > 0:
        x = sx(measured_from)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{MARGIN_TOP}" y2="{MARGIN_TOP + plot_height}" stroke="#777" '
            'stroke-dasharray="2 3"/>'
        )
        parts.append(f'<text x="{x + 4:.1f}" y="{MARGIN_TOP + 10}">every user in: measured from here</text>')
    if horizontal is not None:
        y = sy(horizontal[0])
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b00020" '
            'stroke-dasharray="6 4"/>'
        )
        parts.append(
            f'<text x="{WIDTH - MARGIN_RIGHT}" y="{y - 4:.1f}" text-anchor="end" '
            f'fill="#b00020">{escape(horizontal[1])}</text>'
        )
    for label, colour, line in series:
        if line:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in line)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{path}"><title>{escape(label)}</title></polyline>'
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span><svg width="14" height="4"><rect width="14" height="4" fill="{colour}"/></svg> {escape(label)}</span>'
        for label, colour, _ in series
    )
    return "".join(parts) + f'<p class="legend">{legend}</p>'
