"""PromQL read by a real parser (promql-parser, a port of Prometheus's own grammar): syntax
errors, and the selectors a query uses with the functions around each, for the lint rules.

Dashboards hold Grafana variables that are not PromQL (`$__rate_interval`, `$service`); they are
expanded first, as grafana/dashboard-linter does, to sentinel values the rules can recognise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import promql_parser

# Sentinels: durations no hand-written query uses, so a range equal to one came from the variable.
RATE_INTERVAL_SENTINEL = "4242s"
GRAFANA_DURATIONS = {"__rate_interval": RATE_INTERVAL_SENTINEL, "__interval": "4243s", "__range": "4244s"}
VARIABLE_PLACEHOLDER = "grafana-variable"
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


class PromQLError(ValueError):
    """A query the parser rejects; the message quotes the query and the parser's reason."""

    def __init__(self, query: str, reason: str):
        super().__init__(f"{reason}: {query}")
        self.query = query
        self.reason = reason


@dataclass(frozen=True)
class Selector:
    series: str  # "" when the selector has no metric name
    matchers: tuple[tuple[str, str, str], ...]  # (label, operator, value)
    functions: tuple[str, ...]  # the calls around it, outermost first
    range: timedelta | None  # set for a range selector (`x[5m]`)

    @property
    def innermost_function(self) -> str | None:
        return self.functions[-1] if self.functions else None


def expand_grafana_variables(query: str) -> str:
    """Grafana's variables replaced by values the parser accepts."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return GRAFANA_DURATIONS.get(name, VARIABLE_PLACEHOLDER)

    return _VARIABLE.sub(substitute, query)


def parse(query: str) -> promql_parser.Expr:
    if not query.strip():
        raise PromQLError(query, "empty query")
    try:
        return promql_parser.parse(query)
    except Exception as error:
        raise PromQLError(query, f"PromQL does not parse ({error})") from None


def selectors(query: str) -> list[Selector]:
    """Every vector selector of `query`, in order, with the functions around it."""
    found: list[Selector] = []
    calls: list[str] = []
    ranges: list[timedelta] = []

    def pre_visit(node) -> None:
        if isinstance(node, promql_parser.Call):
            calls.append(node.func.name)
        elif isinstance(node, promql_parser.MatrixSelector):
            ranges.append(node.range)
        elif isinstance(node, promql_parser.VectorSelector):
            matchers = tuple((m.name, _OPERATORS[str(m.op)], m.value) for m in node.matchers.matchers)
            found.append(Selector(node.name or "", matchers, tuple(calls), ranges[-1] if ranges else None))

    def post_visit(node) -> None:
        if isinstance(node, promql_parser.Call):
            calls.pop()
        elif isinstance(node, promql_parser.MatrixSelector):
            ranges.pop()

    promql_parser.walk(parse(query), pre_visit, post_visit)
    return found


_OPERATORS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


_COMPARISONS = frozenset({">", "<", ">=", "<="})


@dataclass(frozen=True)
class Threshold:
    """A comparison of a query against a number: `<left side> > 0.05`."""

    op: str  # ">", "<", ">=", "<="
    value: float
    series: frozenset[str]  # the series its left side reads


def thresholds(query: str) -> list[Threshold]:
    """Every `expr <op> number` of `query`, in order (filters such as `== 0` are not thresholds)."""
    found: list[Threshold] = []

    def series_of(node) -> frozenset[str]:
        names: set[str] = set()

        def visit(inner) -> None:
            if isinstance(inner, promql_parser.VectorSelector) and inner.name:
                names.add(inner.name)

        promql_parser.walk(node, visit, lambda inner: None)
        return frozenset(names)

    def pre_visit(node) -> None:
        if (
            isinstance(node, promql_parser.BinaryExpr)
            and str(node.op) in _COMPARISONS
            and isinstance(node.rhs, promql_parser.NumberLiteral)
        ):
            found.append(Threshold(str(node.op), float(node.rhs.val), series_of(node.lhs)))

    promql_parser.walk(parse(query), pre_visit, lambda node: None)
    return found
