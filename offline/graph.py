"""The recorded resource graph of one stack: what the offline engine produces and what
preview, snapshot, diff and the tests read.

A graph is plain JSON-able data so that a committed snapshot and a fresh run compare
directly. Its shape (``version`` 1)::

    {
      "version": 1,
      "stack": "dev",
      "project": "omni-infra",
      "resources": [            # sorted by URN
        {
          "urn": "urn:pulumi:dev::omni-infra::omni:network:Network$gcp:compute/network:Network::omni-dev-vpc",
          "type": "gcp:compute/network:Network",
          "name": "omni-dev-vpc",
          "custom": true,                   # false for components and the stack
          "parent": "urn:...",              # null only for the pulumi:pulumi:Stack resource
          "provider": null,                 # explicit provider URN, null for the default provider
          "dependencies": ["urn:..."],      # sorted: depends_on plus every Output the inputs used
          "propertyDependencies": {"network": ["urn:..."]},
          "protect": false,
          "retainOnDelete": false,
          "deleteBeforeReplace": false,
          "ignoreChanges": [],
          "replaceOnChanges": [],
          "aliases": ["urn:..."],           # former URNs this resource answers to
          "additionalSecretOutputs": [],
          "inputs": {"autoCreateSubnetworks": false, "name": "omni-dev-vpc", ...}
        }
      ],
      "outputs": {"project": "omni-api-dev", "network_id": "[unknown]"}
    }

Input property names are the engine's (camelCase, as ``pulumi stack export`` shows them).
Two markers replace values that must never be shown or invented: ``SECRET`` for any secret
value and ``UNKNOWN`` for a value only known after ``pulumi up``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

GRAPH_VERSION = 1
SECRET = "[secret]"
UNKNOWN = "[unknown]"
STACK_TYPE = "pulumi:pulumi:Stack"

# Resource options recorded for every resource, with the value they take when unset.
OPTION_DEFAULTS: dict[str, Any] = {
    "provider": None,
    "protect": False,
    "retainOnDelete": False,
    "deleteBeforeReplace": False,
    "ignoreChanges": [],
    "replaceOnChanges": [],
    "aliases": [],
    "additionalSecretOutputs": [],
}


@dataclass
class Resource:
    """One registered resource, as the Pulumi engine would receive it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "dependencies": sorted(set(self.dependencies)),
            # Only the inputs that came from another resource; the rest would be noise.
            "propertyDependencies": {
                key: sorted(set(urns)) for key, urns in sorted(self.property_dependencies.items()) if urns
            },
        }
        for option, default in OPTION_DEFAULTS.items():
            data[option] = self.options.get(option, default)
        data["inputs"] = self.inputs
        return data


@dataclass
class Graph:
    """Every resource of one stack plus its exported outputs."""

    stack: str
    project: str
    resources: list[Resource]
    outputs: dict[str, Any]
    # Set for a simulated apply (`--simulate-apply`): the provider functions answered with
    # stand-ins; computed outputs are stand-ins too. Never set in preview (what snapshots hold).
    simulated_invokes: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": GRAPH_VERSION,
            "stack": self.stack,
            "project": self.project,
            "resources": [r.to_json() for r in sorted(self.resources, key=lambda r: r.urn)],
            "outputs": self.outputs,
        }
        if self.simulated_invokes is not None:
            data["simulated"] = {"standInInvokes": sorted(self.simulated_invokes)}
        return data


def dumps(graph_json: dict[str, Any]) -> str:
    """The one serialisation used for snapshots and ``--json``: sorted keys, stable bytes."""
    return json.dumps(graph_json, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def loads(text: str, source: str = "<graph>") -> dict[str, Any]:
    """Parse a serialised graph, refusing anything that is not a version-1 graph."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source} is not valid JSON: {error}") from error
    if not isinstance(data, dict) or data.get("version") != GRAPH_VERSION or "resources" not in data:
        raise ValueError(
            f"{source} is not an omni-infra graph (version {GRAPH_VERSION}); regenerate it with `omni snapshot`"
        )
    return data
