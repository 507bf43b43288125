"""The Locust class that plays a load shape of `shape_plans` over a run.

It reads users, spawn rate and run time from Locust's own options (`use_common_options`), so
`--users 200 --run-time 10m` means the same with or without a shape.
"""

from __future__ import annotations

from locust import LoadTestShape

from loadtest.shape_plans import Plan, Stage, plan_from_options, stages_of, step


class StagedShape(LoadTestShape):
    """Plays `stages` over the run; Locust instantiates the one subclass the locustfile exposes."""

    abstract = True
    use_common_options = True
    stages: tuple[Stage, ...] = ()
    shape_name = ""

    def __init__(self, plan: Plan | None = None):
        super().__init__()
        self.plan = plan  # None: read from Locust's options at the first tick

    def tick(self) -> tuple[int, float] | None:
        if self.plan is None:
            assert self.runner is not None, "Locust sets the runner before the first tick"
            self.plan = plan_from_options(self.runner.environment.parsed_options)
        return step(self.stages, self.plan, self.get_run_time())


def shape_class(name: str) -> type[StagedShape]:
    """The Locust shape class that plays the shape named `name`."""
    stages = stages_of(name)
    return type(f"{name.title()}Shape", (StagedShape,), {"abstract": False, "stages": stages, "shape_name": name})
