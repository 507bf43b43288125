"""Load shapes as data: how many users run at each moment of a run (ramp, spike, soak).

A shape is a list of stages, each lasting up to a fraction of the run and holding a fraction of
the run's `--users`, so one shape fits any size and length of run. Standard library only (no
Locust import, so no gevent patching where only the names are needed); `shapes` plays them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

# How a stage reaches its users: at the run's `--spawn-rate`, all at once (a spike), or spread
# evenly over the stage (a gentle warm-up, so caches and pools fill before the load holds).
Spawn = Literal["steady", "burst", "spread"]


@dataclass(frozen=True)
class Stage:
    until: float  # end of the stage, as a fraction of the run time (the last one ends at 1.0)
    users: float  # users during the stage, as a fraction of the run's users
    spawn: Spawn = "steady"


@dataclass(frozen=True)
class Plan:
    """The run a shape is fitted to."""

    users: int
    spawn_rate: float
    run_seconds: float


SHAPES: dict[str, tuple[Stage, ...]] = {
    # A staircase: a quarter of the users more every quarter of the run, to find the knee.
    "ramp": (Stage(0.25, 0.25), Stage(0.5, 0.5), Stage(0.75, 0.75), Stage(1.0, 1.0)),
    # A fifth of the users, then all of them at once for a fifth of the run, then back.
    "spike": (Stage(0.4, 0.2), Stage(0.6, 1.0, "burst"), Stage(1.0, 0.2, "burst")),
    # Warm up over the first tenth, then hold every user to the end: leaks, pool exhaustion, eviction.
    "soak": (Stage(0.1, 1.0, "spread"), Stage(1.0, 1.0)),
}


class UnknownShapeError(ValueError):
    def __init__(self, name: str):
        super().__init__(f"no load shape named {name!r}; choose one of {', '.join(SHAPES)} (or none: a steady ramp-up)")


def stages_of(name: str) -> tuple[Stage, ...]:
    if name not in SHAPES:
        raise UnknownShapeError(name)
    return SHAPES[name]


def step(stages: tuple[Stage, ...], plan: Plan, elapsed: float) -> tuple[int, float] | None:
    """(users, spawn rate) `elapsed` seconds into the run, or None once the run is over."""
    start = 0.0
    for stage in stages:
        end = stage.until * plan.run_seconds
        if elapsed < end:
            users = max(1, math.ceil(stage.users * plan.users))
            if stage.spawn == "burst":
                rate = float(users)  # everyone within a second
            elif stage.spawn == "spread":
                rate = max(users / max(end - start, 1.0), 0.1)
            else:
                rate = plan.spawn_rate
            return users, rate
        start = end
    return None


def plan_from_options(options: Any) -> Plan:
    """The plan in Locust's parsed options (`--users`, `--spawn-rate`, `--run-time`)."""
    if not options.run_time:
        raise ValueError("a load shape stretches over the run time: pass --run-time")
    return Plan(
        users=int(options.num_users or 1),
        spawn_rate=float(options.spawn_rate or 1),
        run_seconds=float(options.run_time),
    )
