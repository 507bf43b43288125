"""What the dashboards need to know about one stack, read from its typed config only.

The Pulumi program passes its validated config; `omni dashboards` reads the stack file through
the same loader (`offline.dashboards`), never running the program. The few numbers a panel shows as a threshold
(the connection budget, the API's instance ceiling, the size of an instance) come from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from stackconfig.armor import api_rules
from stackconfig.connections import ConnectionBudget, connection_budget
from stackconfig.model import StackConfig
from stackconfig.cloud_run_sizing import memory_mib

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
    # by its priority (stackconfig/armor.py).
    armor_rules: tuple[tuple[int, str], ...] = ()

    # The `service` label of the workloads' metrics: the workload, the same in every stack (the
    # Managed Prometheus collector sets it; `components/managed_prometheus.py`).
    api_service = "api"
    worker_service = "worker"


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
        api_memory_gib=memory_mib(config.api.memory) / 1024,
        api_connections_per_instance=config.api.db_pool_size + config.api.db_max_overflow,
        worker_processes=config.workers.instances * config.workers.concurrency,
        budget=connection_budget(config.api, config.workers, config.database),
        armor_rules=tuple((rule.priority, rule.name) for rule in api_rules(config.edge.armor)),
    )
