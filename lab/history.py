"""Hours of healthy history for a fresh Prometheus, so burn-rate windows start full.

A Prometheus started a minute ago computes `rate(x[1h])` over that minute: its long windows act
like short ones, and a fault crosses a 1h threshold in seconds where production, with an hour of
healthy traffic in the window, takes most of a minute (or, for a slow burn, most of an hour).
The lab therefore backfills the demo service's healthy traffic over the longest page window: it
plays ten minutes of healthy traffic to learn each counter's rate, writes those counters growing
at that rate over the past hours in the OpenMetrics text format, and turns that into TSDB blocks
with `promtool tsdb create-blocks-from openmetrics`, which Prometheus loads from its data
directory at start.

Only counters and histograms are backfilled: rules read them through `rate()` over windows.
Gauges are read at an instant, and a backfilled gauge would linger five minutes (the lookback)
after the history ends, hiding a live gauge's fault (no workers) behind an old healthy value.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from prometheus_client import CollectorRegistry

from lab.app_metrics import AppMetrics
from lab.demo_service import TrafficSimulator
from lab.faults import HEALTHY

PROMTOOL = "/usr/bin/promtool"
HISTORY_INSTANCE = "history"  # the `instance` label of backfilled series; live ones carry host:port
HISTORY_STEP_SECONDS = 30  # production's scrape interval
LEARNING_SECONDS = 600  # healthy traffic played to learn each counter's rate

Rates = dict[tuple[str, tuple[tuple[str, str], ...]], float]  # (series name, sorted labels) -> per second


def healthy_rates(requests_per_second: float, seed: int = 0) -> Rates:
    """Per second growth of every counter and histogram series of the demo service when healthy."""
    registry = CollectorRegistry()
    simulator = TrafficSimulator(AppMetrics(registry), requests_per_second=requests_per_second, seed=seed)
    for _ in range(LEARNING_SECONDS):
        simulator.advance(1.0, HEALTHY)
    rates = {}
    for family in registry.collect():
        if family.type not in ("counter", "histogram"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            rates[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value / LEARNING_SECONDS
    return rates


def openmetrics_history(rates: Rates, *, job: str, end: float, seconds: int) -> str:
    """Every series growing at its rate from 0 over `seconds` up to `end` (unix time), one sample per step."""
    steps = seconds // HISTORY_STEP_SECONDS
    start = end - steps * HISTORY_STEP_SECONDS
    lines = []
    # Series by series, each one's samples contiguous and in time order, as the format requires.
    for (name, labels), rate in sorted(rates.items()):
        label_text = ",".join(
            f'{key}="{value}"' for key, value in (*labels, ("job", job), ("instance", HISTORY_INSTANCE))
        )
        for step in range(steps + 1):
            elapsed = step * HISTORY_STEP_SECONDS
            lines.append(f"{name}{{{label_text}}} {rate * elapsed:.6g} {start + elapsed:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def write_history_blocks(directory: Path, rates: Rates, *, job: str, end: float, seconds: int) -> Path:
    """TSDB blocks of `seconds` of history at `rates` ending at `end`, under `directory`/blocks."""
    source = directory / "history.om"
    blocks = directory / "blocks"
    source.write_text(openmetrics_history(rates, job=job, end=end, seconds=seconds), encoding="utf-8")
    completed = subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(source), str(blocks)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"promtool could not build the history blocks: {completed.stderr.strip()}")
    source.unlink()
    return blocks
