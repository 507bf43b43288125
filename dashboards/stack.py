"""What the dashboards need to know about one stack, read from its typed config only.

Rendering never runs the Pulumi program: the stack file goes through the same loader
`pulumi up` uses (`load_stack_config`), and the few numbers a panel shows as a threshold
(the connection budget, the API's instance ceiling, the size of an instance) come from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from components.edge.armor import api_rules
from stackconfig.connections import ConnectionBudget, connection_budget
from stackconfig.loader import load_stack_config
from stackconfig.model import StackConfig
from stackconfig.stackfile import read_stack_file

DEFAULT_STACK = "dev"


@dataclass(frozen=True)
class StackFacts:
    stack: str
    project: str  # the GCP project: the `project_id` label and the `environment` variable's default
    base_name: str  # `omni-prod`
    api_min_instances: int
    api_max_instances: int
    api_concurrency: int
    api_vcpus: float
    api_memory_gib: float
    api_connections_per_instance: int  # pool + overflow
    worker_processes: int  # instances x concurrency
    budget: ConnectionBudget
    # The API's Cloud Armor rules as (priority, name): the logs, and so the edge's panels, name a rule
    # by its priority (components/edge/armor.py).
    armor_rules: tuple[tuple[int, str], ...] = ()

    # The `service` label of the workloads' metrics: the workload, the same in every stack (the
    # Managed Prometheus collector sets it; `components/managed_prometheus.py`).
    api_service = "api"
    worker_service = "worker"


def memory_gib(memory: str) -> float:
    """`512Mi` -> 0.5, `2Gi` -> 2.0 (the config model only admits these two suffixes)."""
    amount = int(memory[:-2])
    return amount / 1024 if memory.endswith("Mi") else float(amount)


def stack_file(project_dir: Path, stack: str) -> Path:
    """`stacks/Pulumi.<stack>.yaml`, honouring Pulumi.yaml's `stackConfigDir`."""
    project_file = project_dir / "Pulumi.yaml"
    config_dir = "."
    if project_file.is_file():
        config_dir = str((yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}).get("stackConfigDir") or ".")
    return project_dir / config_dir / f"Pulumi.{stack}.yaml"


def facts_from_config(stack: str, config: StackConfig) -> StackFacts:
    """What the dashboards show of an already validated config (the Pulumi program has one)."""
    return StackFacts(
        stack=stack,
        project=config.project,
        base_name=config.base_name,
        api_min_instances=config.api.min_instances,
        api_max_instances=config.api.max_instances,
        api_concurrency=config.api.concurrency,
        api_vcpus=float(config.api.cpu),
        api_memory_gib=memory_gib(config.api.memory),
        api_connections_per_instance=config.api.db_pool_size + config.api.db_max_overflow,
        worker_processes=config.workers.instances * config.workers.concurrency,
        budget=connection_budget(config.api, config.workers, config.database),
        armor_rules=tuple((rule.priority, rule.name) for rule in api_rules(config.edge.armor)),
    )


def load_stack_facts(stack: str | None = None, project_dir: Path = Path(".")) -> StackFacts:
    """Read and validate the stack's file (raising `StackConfigError` as `omni preview` would)."""
    name = stack or DEFAULT_STACK
    values, secret_keys = read_stack_file(stack_file(project_dir, name))
    return facts_from_config(name, load_stack_config(name, values, secret_keys))
