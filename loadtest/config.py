"""Everything the suite's traffic is made of, in one place: the API's routes, how often each kind
of user comes, how long it thinks between requests, and the pass/fail limits.

Per-run settings (API key, shape, limits) come from `OMNI_LOADTEST_*` environment variables, so
that the local runner and the Locust master and workers on Kubernetes read them the same way.
Standard library only: this file is shipped to the Locust image in a ConfigMap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    """One API route the suite calls."""

    method: str
    path: str  # a template: `{id}` and `{query}` are filled in per request
    stats_name: str  # how Locust groups it in its statistics: one line per route, not per id
    expect: int  # the status a healthy API answers with


# What the API must expose (docs/loadtest.md describes the bodies).
HEALTH = Route("GET", "/healthz", "/healthz", 200)
CACHED_READ = Route("GET", "/v1/items/{id}", "/v1/items/[id]", 200)
UNCACHED_READ = Route("GET", "/v1/search?q={query}", "/v1/search?q=[query]", 200)
WRITE = Route("POST", "/v1/items", "/v1/items", 201)
SUBMIT_TASK = Route("POST", "/v1/tasks", "/v1/tasks", 202)
POLL_TASK = Route("GET", "/v1/tasks/{id}", "/v1/tasks/[id]", 200)
ROUTES = (HEALTH, CACHED_READ, UNCACHED_READ, WRITE, SUBMIT_TASK, POLL_TASK)

API_KEY_HEADER = "X-API-Key"
# Terminal states of an async task, as `GET /v1/tasks/{id}` reports them in `status`.
TASK_DONE = "succeeded"
TASK_FAILED = "failed"


@dataclass(frozen=True)
class Traffic:
    """One kind of user: its share of the users and its think time between two requests."""

    weight: int
    think_seconds: tuple[float, float]  # uniform between these


# Read-heavy, as the API's traffic is: most reads hit a small set of hot items (the cache's
# job), some search (never cached), fewer write, few start background tasks.
CACHED_READERS = Traffic(weight=60, think_seconds=(0.5, 2.0))
UNCACHED_READERS = Traffic(weight=20, think_seconds=(1.0, 3.0))
WRITERS = Traffic(weight=15, think_seconds=(1.0, 3.0))
TASK_SUBMITTERS = Traffic(weight=5, think_seconds=(2.0, 5.0))

TASK_POLL_INTERVAL_SECONDS = 0.5
TASK_TIMEOUT_SECONDS = 30.0

# The pass/fail limits: the API latency SLO (95% of requests under 500 ms) and a 1% error budget.
P95_LIMIT_MS = 500.0
ERROR_RATIO_LIMIT = 0.01

ENV_API_KEY = "OMNI_LOADTEST_API_KEY"
ENV_SHAPE = "OMNI_LOADTEST_SHAPE"
ENV_P95_LIMIT_MS = "OMNI_LOADTEST_P95_LIMIT_MS"
ENV_ERROR_RATIO_LIMIT = "OMNI_LOADTEST_ERROR_RATIO_LIMIT"
ENV_HOT_ITEMS = "OMNI_LOADTEST_HOT_ITEMS"


@dataclass(frozen=True)
class SuiteSettings:
    """One run's settings, read from the environment."""

    api_key: str | None = None  # sent as `X-API-Key` when set
    shape: str | None = None  # a name of `shapes.SHAPES`; None: Locust's own steady ramp-up
    p95_limit_ms: float = P95_LIMIT_MS
    error_ratio_limit: float = ERROR_RATIO_LIMIT
    hot_items: int = 100  # cached reads pick item ids 1..hot_items: the API must have them

    def environment(self) -> dict[str, str]:
        """The variables that hand these settings to a Locust process."""
        variables = {
            ENV_P95_LIMIT_MS: repr(self.p95_limit_ms),
            ENV_ERROR_RATIO_LIMIT: repr(self.error_ratio_limit),
            ENV_HOT_ITEMS: str(self.hot_items),
        }
        if self.api_key:
            variables[ENV_API_KEY] = self.api_key
        if self.shape:
            variables[ENV_SHAPE] = self.shape
        return variables


def settings_from_env(environ: Mapping[str, str] = os.environ) -> SuiteSettings:
    """The settings in `environ`; a malformed value raises ValueError naming the variable."""
    defaults = SuiteSettings()
    return SuiteSettings(
        api_key=environ.get(ENV_API_KEY) or None,
        shape=environ.get(ENV_SHAPE) or None,
        p95_limit_ms=_number(environ, ENV_P95_LIMIT_MS, defaults.p95_limit_ms, low=1.0),
        error_ratio_limit=_number(environ, ENV_ERROR_RATIO_LIMIT, defaults.error_ratio_limit, low=0.0, high=1.0),
        hot_items=int(_number(environ, ENV_HOT_ITEMS, defaults.hot_items, low=1.0, integer=True)),
    )


def _number(
    environ: Mapping[str, str],
    name: str,
    default: float,
    *,
    low: float,
    high: float | None = None,
    integer: bool = False,
) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not {'an integer' if integer else 'a number'}") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ValueError(f"{name}={raw!r} must be {bounds}")
    return value
