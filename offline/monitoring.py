"""A stack's monitoring config read from its stack file, without running the Pulumi program.

The stack file goes through the same loader `pulumi up` uses (`load_stack_config`), so a bad
value fails here as it would in a preview (`StackConfigError`).
"""

from __future__ import annotations

from pathlib import Path

from components.rule_evaluator import production_alertmanager_yaml
from stackconfig.errors import StackConfigError
from stackconfig.loader import deployment_problems, load_stack_config
from stackconfig.location import stack_file
from stackconfig.monitoring import MonitoringConfig, monitoring_config

from .stackfile import read_stack_file

DEFAULT_STACK = "dev"
# The repository's root: where `stacks/` is when no project directory is given.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load_monitoring_config(stack: str | None = None, project_dir: Path | None = None) -> MonitoringConfig:
    """Read and validate the stack's file (raising `StackConfigError` as `omni preview` would)."""
    name = stack or DEFAULT_STACK
    values, secret_keys = read_stack_file(stack_file(project_dir or PROJECT_ROOT, name))
    return monitoring_config(name, load_stack_config(name, values, secret_keys))


def load_alertmanager_yaml(stack: str | None = None, project_dir: Path | None = None) -> tuple[str, bool]:
    """The stack's own Alertmanager configuration, the text its rule evaluator runs (tickets by
    email through the SMTP relay, PagerDuty where the stack pages), and whether it pages."""
    name = stack or DEFAULT_STACK
    path = stack_file(project_dir or PROJECT_ROOT, name)
    values, secret_keys = read_stack_file(path)
    config = load_stack_config(name, values, secret_keys)
    problems = deployment_problems(config, values, name, credentials=False)
    if problems:  # e.g. no ticket inbox: there is no receiver to write
        raise StackConfigError(str(path), problems)
    return production_alertmanager_yaml(config), config.alerting.pagerduty.enabled
