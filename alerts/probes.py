"""Signal probes: input series that hold an alert's signal at a chosen level, for the threshold
tests (healthy traffic, just below the threshold, just above it, a traffic guard either side).

Each function returns `series(level, traffic)` for `SignalProbe.series`. Counters start at 0
with the test and grow at a constant rate, so every window's rate (and so every ratio of rates)
is exact once the window lies inside the test; gauges are constant.
"""

from __future__ import annotations

from collections.abc import Callable

from alerts.model import InputSeries

Series = Callable[[float, float], tuple[InputSeries, ...]]


def with_labels(metric: str, labels: dict[str, str]) -> str:
    return metric + "{" + ",".join(f'{name}="{value}"' for name, value in labels.items()) + "}"


def _gauge(series: str, value: float, steps: int) -> InputSeries:
    return InputSeries(series, f"{value:g}+0x{steps}")


def _counter(series: str, per_step: float, steps: int) -> InputSeries:
    return InputSeries(series, f"0+{per_step:g}x{steps}")


def gauge(series: str, steps: int, *, offset: float = 0, fixed: tuple[tuple[str, float], ...] = ()) -> Series:
    """One gauge at `level - offset`, beside `fixed` gauges (whose values add up to `offset`)."""

    def make(level: float, traffic: float) -> tuple[InputSeries, ...]:
        return (_gauge(series, level - offset, steps), *(_gauge(name, value, steps) for name, value in fixed))

    return make


def counter_rate(series: str, step_seconds: int, steps: int) -> Series:
    """A counter growing at `level` per second."""

    def make(level: float, traffic: float) -> tuple[InputSeries, ...]:
        return (_counter(series, level * step_seconds, steps),)

    return make


def share(part: str, rest: str, step_seconds: int, steps: int, *, also: tuple[str, ...] = ()) -> Series:
    """`traffic` events a second, `level` of them counted by `part` and the others by `rest`.
    `also` are counters of every event (a histogram's `_count` beside its buckets)."""

    def make(level: float, traffic: float) -> tuple[InputSeries, ...]:
        total = traffic * step_seconds
        return (
            _counter(part, level * total, steps),
            _counter(rest, total - level * total, steps),
            *(_counter(name, total, steps) for name in also),
        )

    return make


def bucket_share(bucket: str, count: str, step_seconds: int, steps: int) -> Series:
    """A histogram where `1 - level` of `traffic` events fall in `bucket` (slow share = level)."""

    def make(level: float, traffic: float) -> tuple[InputSeries, ...]:
        total = traffic * step_seconds
        return (_counter(bucket, total - level * total, steps), _counter(count, total, steps))

    return make


def quantile(bucket_metric: str, labels: dict[str, str], q: float, step_seconds: int, steps: int) -> Series:
    """A histogram whose q-quantile is `level`: every observation in one bucket whose upper bound
    is level / q, so histogram_quantile interpolates to exactly `level`."""

    def make(level: float, traffic: float) -> tuple[InputSeries, ...]:
        per_step = traffic * step_seconds
        return (
            _counter(with_labels(bucket_metric, {**labels, "le": repr(level / q)}), per_step, steps),
            _counter(with_labels(bucket_metric, {**labels, "le": "+Inf"}), per_step, steps),
        )

    return make


def count_of(
    metric: str, labels: dict[str, str], key: str, members: tuple[str, ...], bad: float, good: float, steps: int
) -> Series:
    """`len(members)` gauges told apart by label `key`: `level` of them (a whole number) at `bad`,
    the rest at `good` (failing uptime check locations)."""

    def make(level: float, traffic: float) -> tuple[InputSeries, ...]:
        failing = int(level)
        return tuple(
            _gauge(with_labels(metric, {**labels, key: member}), bad if index < failing else good, steps)
            for index, member in enumerate(members)
        )

    return make


def fraction_of(
    metric: str, labels: dict[str, str], key: str, size: int, bad: float, good: float, steps: int
) -> Series:
    """`size` gauges, the share `level` of them at `bad` (rounded to a whole target), the rest at `good`."""
    members = tuple(f"target-{index}" for index in range(size))

    def make(level: float, traffic: float) -> tuple[InputSeries, ...]:
        return count_of(metric, labels, key, members, bad, good, steps)(round(level * size), traffic)

    return make
