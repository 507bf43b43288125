"""Pass or fail: a run passes when its p95 latency and its error ratio stay under the limits.

The same function judges the run twice: inside Locust when it quits (setting the process's exit
code) and in the runner from the CSV report (so callers get the reasons as data). Both read
Locust's aggregated statistics, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Totals:
    """The aggregated numbers the limits apply to."""

    requests: int
    failures: int
    p95_ms: float

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def breaches(totals: Totals, *, p95_limit_ms: float, error_ratio_limit: float) -> list[str]:
    """Why the run fails, one sentence per broken limit; empty when it passes."""
    if totals.requests == 0:
        return ["no request completed: the run measured nothing"]
    found = []
    if totals.p95_ms >= p95_limit_ms:
        found.append(f"p95 latency {totals.p95_ms:.0f} ms is not under {p95_limit_ms:.0f} ms")
    if totals.failures and totals.error_ratio >= error_ratio_limit:
        found.append(
            f"error ratio {totals.error_ratio:.2%} ({totals.failures} of {totals.requests} requests) "
            f"is not under {error_ratio_limit:.2%}"
        )
    return found
