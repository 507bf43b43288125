"""Lint rendered dashboards with grafana/dashboard-linter's rule set, on the parsed PromQL.

Every query is read by a real PromQL parser (observability.promql) after Grafana's variables are
expanded; the rules then look at the syntax tree's selectors, ranges and the functions around
them, never at the query's text. The linter is Go and not packaged here, so its rules are
re-implemented (names kept, `-rule` suffix dropped) and adapted to this project: its
`template-job`/`target-job` pair becomes `template-required-variables`/`target-required-matchers`
over our `environment` and `service` variables, and `target-unknown-metric` ties every query to
the metric catalogue. Each finding names the dashboard, the panel and what to change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.slo import SLO_RECORDS
from observability import catalogue as m
from observability.promql import (
    RATE_INTERVAL_SENTINEL,
    PromQLError,
    Selector,
    expand_grafana_variables,
    parse,
    selectors,
)

from . import style

RULES: dict[str, str] = {
    "template-datasource": "The dashboard has one `datasource` variable of type datasource over Prometheus, labelled "
    f"'Data source', defaulting to `{style.DATASOURCE_UID}`; query variables read through it.",
    "template-required-variables": "The dashboard has the `environment` and `service` variables.",
    "template-label-promql": "Every variable query is label_values() over valid PromQL and a label name.",
    "template-on-time-change-reload": "Query variables refresh when the time range changes.",
    "uneditable-dashboard": "The dashboard is read-only: it is provisioned from code, a UI edit would be lost.",
    "dashboard-uid": "The dashboard has a uid, unique among the dashboards linted together.",
    "panel-id-unique": "Every panel has an id, unique within its dashboard.",
    "panel-title-description": "Every panel has a title and a description.",
    "panel-units": "Every graph, stat, gauge and table panel has a valid Grafana unit.",
    "panel-no-targets": "Every panel that draws data has at least one query.",
    "panel-datasource": "Every panel and query uses the templated datasource `${datasource}`.",
    "target-promql": "Every query is valid PromQL once Grafana's variables are expanded.",
    "target-rate-interval": "rate, irate and increase range over `$__rate_interval`.",
    "target-counter-agg": "Counters (and histogram series) appear only inside rate, irate or increase.",
    "target-unknown-metric": "Every selector names a catalogue series or an SLO recording rule from alerts.slo.",
    "target-required-matchers": "Every selector filters `project_id` by `$environment`, and a metric with a "
    "service label filters it by `$service`.",
}

# Panels that draw query results, and the subset that must state a unit (dashboard-linter's lists).
DATA_PANEL_TYPES = frozenset({"timeseries", "stat", "gauge", "table", "bargauge", "graph", "singlestat", "heatmap"})
UNIT_PANEL_TYPES = frozenset({"timeseries", "stat", "gauge", "table", "graph", "singlestat"})
# Grafana's unit ids that suit this project's metrics (grafana-data's valueFormats categories).
VALID_UNITS = frozenset(
    {
        "none",
        "short",
        "percent",
        "percentunit",
        "bool",
        "bool_yes_no",
        "bool_on_off",
        "ns",
        "µs",
        "ms",
        "s",
        "m",
        "h",
        "d",
        "dtdurationms",
        "dtdurations",
        "bytes",
        "decbytes",
        "kbytes",
        "mbytes",
        "gbytes",
        "bits",
        "Bps",
        "bps",
        "binBps",
        "binbps",
        "cps",
        "ops",
        "reqps",
        "rps",
        "wps",
        "iops",
        "cpm",
        "opm",
        "rpm",
        "wpm",
        "currencyUSD",
        "currencyEUR",
        "currencyGBP",
        "dateTimeAsIso",
        "dateTimeFromNow",
    }
)
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
REQUIRED_VARIABLES = (style.ENVIRONMENT_VARIABLE, style.SERVICE_VARIABLE)
# What `$__rate_interval` becomes once expanded, as the parser reports a range.
_RATE_INTERVAL_RANGE = selectors(f"rate(x[{RATE_INTERVAL_SENTINEL}])")[0].range
_VARIABLE_MARK = "grafana-variable-"


@dataclass(frozen=True)
class Finding:
    dashboard: str  # uid
    panel: str  # title; "" for a dashboard-wide finding
    panel_id: int | None
    rule: str
    message: str  # what is wrong and what to change

    def __str__(self) -> str:
        where = f"panel {self.panel_id} {self.panel!r}" if self.panel or self.panel_id is not None else "dashboard"
        return f"{self.dashboard}: {where}: [{self.rule}] {self.message}"


def _mark_variables(query: str, names: Iterable[str]) -> str:
    """The dashboard's own variables become values that keep their name (`$service` ->
    `grafana-variable-service`), so a matcher can be traced to its variable; Grafana's built-ins
    (`$__rate_interval`) are left to `expand_grafana_variables`."""
    for name in names:
        query = re.sub(rf"\$\{{{name}(?::\w+)?\}}|\$\b{name}\b", _VARIABLE_MARK + name, query)
    return expand_grafana_variables(query)


def _iter_panels(panels: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _iter_panels(panel.get("panels") or [])


def _datasource_is_templated(datasource: Any) -> bool:
    if isinstance(datasource, dict):
        datasource = datasource.get("uid")
    return datasource in ("$datasource", "${datasource}")


def _query_text(query: Any) -> str:
    return str(query.get("query", "")) if isinstance(query, dict) else str(query or "")


class _DashboardLinter:
    def __init__(self, dashboard: dict[str, Any]):
        self.dashboard = dashboard
        self.uid = str(dashboard.get("uid") or dashboard.get("title") or "(no uid)")
        self.variables: list[dict[str, Any]] = list((dashboard.get("templating") or {}).get("list") or [])
        self.variable_names = [str(v.get("name")) for v in self.variables if v.get("name")]
        self.findings: list[Finding] = []

    def add(self, rule: str, message: str, panel: dict[str, Any] | None = None) -> None:
        title = str(panel.get("title") or "") if panel else ""
        panel_id = panel.get("id") if panel else None
        self.findings.append(Finding(self.uid, title, panel_id, rule, message))

    def run(self) -> list[Finding]:
        self.check_dashboard()
        self.check_variables()
        seen_ids: set[Any] = set()
        for panel in _iter_panels(list(self.dashboard.get("panels") or [])):
            self.check_panel(panel, seen_ids)
        return self.findings

    # --- dashboard and variables --------------------------------------------------------------
    def check_dashboard(self) -> None:
        if not self.dashboard.get("uid"):
            self.add("dashboard-uid", "the dashboard has no uid: give it a stable one in dashboards/registry.py")
        if self.dashboard.get("editable") is not False:
            self.add("uneditable-dashboard", "set `editable` to false: provisioned dashboards change in code")

    def check_variables(self) -> None:
        datasources = [v for v in self.variables if v.get("type") == "datasource"]
        if len(datasources) != 1:
            self.add(
                "template-datasource",
                f"found {len(datasources)} datasource variables: add exactly one, "
                f"named `{style.DATASOURCE_VARIABLE}` (style.datasource_variable())",
            )
        for variable in datasources:
            current = (variable.get("current") or {}).get("value")
            expected = {"name": style.DATASOURCE_VARIABLE, "query": "prometheus", "label": "Data source"}
            for key, value in expected.items():
                if variable.get(key) != value:
                    self.add(
                        "template-datasource",
                        f"the datasource variable's {key} is {variable.get(key)!r}: make it {value!r}",
                    )
            if current != style.DATASOURCE_UID:
                self.add(
                    "template-datasource",
                    f"the datasource variable defaults to {current!r}: default it to "
                    f"{style.DATASOURCE_UID!r}, the uid Grafana's Prometheus datasource is provisioned with",
                )
        for name in REQUIRED_VARIABLES:
            if name not in self.variable_names:
                self.add(
                    "template-required-variables",
                    f"no `{name}` variable: add it (style.{name}_variable()) and filter every selector by it",
                )
        for variable in self.variables:
            if variable.get("type") == "query":
                self.check_query_variable(variable)

    def check_query_variable(self, variable: dict[str, Any]) -> None:
        name = variable.get("name")
        if not _datasource_is_templated(variable.get("datasource")):
            self.add(
                "template-datasource",
                f"variable `{name}` reads {variable.get('datasource')!r}: point it at `${{datasource}}`",
            )
        if variable.get("refresh") != 2:
            self.add(
                "template-on-time-change-reload",
                f"variable `{name}` has refresh {variable.get('refresh')!r}: "
                "set it to 2 (on time range change) so new label values appear",
            )
        query = _query_text(variable.get("query")).strip()
        if not (query.startswith("label_values(") and query.endswith(")")):
            self.add(
                "template-label-promql",
                f"variable `{name}` query {query!r} is not label_values(...): "
                "use label_values(<selector>, <label>) or label_values(<label>)",
            )
            return
        arguments = query[len("label_values(") : -1]
        expr, _, label = arguments.rpartition(",")
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label.strip()):
            self.add("template-label-promql", f"variable `{name}`: {label.strip()!r} is not a label name")
        if expr.strip():
            try:
                parse(_mark_variables(expr, self.variable_names))
            except PromQLError as error:
                self.add(
                    "template-label-promql", f"variable `{name}`: {error.reason}; fix the selector {expr.strip()!r}"
                )

    # --- panels and their queries ---------------------------------------------------------------
    def check_panel(self, panel: dict[str, Any], seen_ids: set[Any]) -> None:
        panel_type = panel.get("type")
        panel_id = panel.get("id")
        if panel_id is None:
            self.add("panel-id-unique", "the panel has no id: let panels.layout() number the panels", panel)
        elif panel_id in seen_ids:
            self.add("panel-id-unique", f"id {panel_id} is used by another panel: ids must be unique", panel)
        seen_ids.add(panel_id)
        if panel_type == "row":
            return
        if not str(panel.get("title") or "").strip():
            self.add("panel-title-description", "the panel has no title: name what it shows", panel)
        if not str(panel.get("description") or "").strip():
            self.add(
                "panel-title-description", "the panel has no description: say what it shows and how to read it", panel
            )
        if panel_type in UNIT_PANEL_TYPES:
            unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
            if unit not in VALID_UNITS:
                self.add(
                    "panel-units",
                    f"unit {unit!r} is missing or not a Grafana unit: use one of style's units "
                    "(s, ms, percentunit, reqps, ops, short, currencyUSD, ...)",
                    panel,
                )
        targets = [target for target in panel.get("targets") or [] if isinstance(target, dict)]
        if panel_type in DATA_PANEL_TYPES and not targets:
            self.add("panel-no-targets", "the panel has no query: give it one or remove it", panel)
        if panel_type in DATA_PANEL_TYPES and not _datasource_is_templated(panel.get("datasource")):
            self.add(
                "panel-datasource",
                f"the panel reads {panel.get('datasource')!r}: use "
                "{'type': 'prometheus', 'uid': '${datasource}'} (style.DATASOURCE)",
                panel,
            )
        for target in targets:
            self.check_target(panel, target)

    def check_target(self, panel: dict[str, Any], target: dict[str, Any]) -> None:
        ref = target.get("refId") or "?"
        if "datasource" in target and not _datasource_is_templated(target.get("datasource")):
            self.add(
                "panel-datasource", f"query {ref} reads {target.get('datasource')!r}: use `${{datasource}}`", panel
            )
        expr = str(target.get("expr") or "")
        try:
            found = selectors(_mark_variables(expr, self.variable_names))
        except PromQLError as error:
            self.add("target-promql", f"query {ref}: {error.reason}: fix `{expr}`", panel)
            return
        for selector in found:
            self.check_selector(panel, ref, selector)

    def check_selector(self, panel: dict[str, Any], ref: str, selector: Selector) -> None:
        series = selector.series
        metric = m.metric_of_series(series)
        if metric is None and series not in SLO_RECORDS:
            self.add(
                "target-unknown-metric",
                f"query {ref}: {series or 'a selector without a metric name'!r} is "
                "neither in observability/catalogue.py nor an SLO recording rule: use a catalogue object "
                "(or add the metric there)",
                panel,
            )
        function = selector.innermost_function
        if function in RATE_FUNCTIONS and selector.range != _RATE_INTERVAL_RANGE:
            self.add(
                "target-rate-interval",
                f"query {ref}: {function}({series}[...]) ranges over "
                f"{selector.range}: use [$__rate_interval] (queries.rate())",
                panel,
            )
        counter = metric is not None and metric.kind in (m.Kind.COUNTER, m.Kind.HISTOGRAM)
        if counter and (function not in RATE_FUNCTIONS or selector.range is None):
            self.add(
                "target-counter-agg",
                f"query {ref}: counter {series} is read raw: wrap it in rate(...[$__rate_interval]) (queries.rate())",
                panel,
            )
        self.check_matchers(panel, ref, selector, metric)

    def check_matchers(self, panel: dict[str, Any], ref: str, selector: Selector, metric: m.Metric | None) -> None:
        def filters(label: str, variable: str) -> bool:
            # Cloud Run's `service_name` ends in the workload: `.+-$service` (style.SERVICE_NAME_MATCH).
            expected = _VARIABLE_MARK + variable
            if label == "service_name":
                expected = style.SERVICE_NAME_MATCH.replace(f"${variable}", expected)
            return any(
                name == label and op in ("=", "=~") and value == expected for name, op, value in selector.matchers
            )

        wanted = [(style.ENVIRONMENT_LABEL, style.ENVIRONMENT_VARIABLE)]
        if metric is not None:
            wanted += [(label, style.SERVICE_VARIABLE) for label in style.SERVICE_LABELS if label in metric.labels]
        for label, variable in wanted:
            if not filters(label, variable):
                self.add(
                    "target-required-matchers",
                    f'query {ref}: {selector.series} lacks {label}=~"${variable}": '
                    "build the selector with queries.selector()",
                    panel,
                )


def lint_dashboard(dashboard_json: dict[str, Any]) -> list[Finding]:
    """Every finding of one dashboard (empty when it is clean)."""
    return _DashboardLinter(dashboard_json).run()


def lint_dashboards(dashboards: Iterable[dict[str, Any]]) -> list[Finding]:
    """Every dashboard's findings, plus uids shared between dashboards."""
    findings: list[Finding] = []
    owners: dict[str, int] = {}
    for dashboard in dashboards:
        findings += lint_dashboard(dashboard)
        uid = dashboard.get("uid")
        if uid:
            owners[uid] = owners.get(uid, 0) + 1
    findings += [
        Finding(uid, "", None, "dashboard-uid", f"{count} dashboards share this uid: give each its own")
        for uid, count in owners.items()
        if count > 1
    ]
    return findings


def read_dashboard_files(directory: Path) -> list[dict[str, Any]]:
    """Every `*.json` dashboard in a directory; raise ValueError naming a file that is not one."""
    files = sorted(directory.glob("*.json"))
    if not files:
        raise ValueError(f"no dashboard JSON files in {directory}")
    dashboards = []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not JSON: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path} holds a {type(data).__name__}, not a dashboard object")
        dashboards.append(data)
    return dashboards


def lint_directory(directory: Path) -> list[Finding]:
    return lint_dashboards(read_dashboard_files(directory))
