"""The provider's input validation, run on the recorded graph before anything reads it.

Terraform validates a resource's arguments at plan time, so `pulumi preview` fails on a value
outside a field's allowed set, a missing required field or a list longer than the schema
allows. The facts come from the provider's schema (`offline.facts`); values only known after
apply (`[unknown]`) and secrets are not judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import facts
from .declarations import ProgramRefused
from .graph import SECRET, UNKNOWN, Graph


class InputRejected(ProgramRefused):
    """Inputs the provider's schema validation rejects."""


@dataclass(frozen=True)
class Problem:
    type: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.type} {self.name!r}: {self.path} {self.message}"


def values_at(data: Any, path: str) -> Iterator[Any]:
    """Every value at a dotted path, through nested objects and every element of a list."""
    current = [data]
    for part in path.split("."):
        step = []
        for value in current:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and item.get(part) is not None:
                    step.append(item[part])
        current = step
    yield from current


def _containers(inputs: dict[str, Any], path: str) -> Iterator[dict[str, Any]]:
    """The objects that hold the last segment of `path` (each element of a list block)."""
    parent = path.rpartition(".")[0]
    holders = [inputs] if not parent else list(values_at(inputs, parent))
    for holder in holders:
        for item in holder if isinstance(holder, list) else [holder]:
            if isinstance(item, dict):
                yield item


def check_inputs(resource_type: str, name: str, inputs: dict[str, Any], type_facts: facts.TypeFacts) -> list[Problem]:
    problems: list[Problem] = []
    for path, allowed in sorted(type_facts.enums.items()):
        for value in values_at(inputs, path):
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item not in (UNKNOWN, SECRET, "") and item not in allowed:
                    problems.append(
                        Problem(resource_type, name, path, f"= {item!r} is not accepted; allowed: {', '.join(allowed)}")
                    )
    for path in type_facts.required:
        leaf = path.rpartition(".")[2]
        for container in _containers(inputs, path):
            if container.get(leaf) is None:
                where = f" (in {path.rpartition('.')[0]})" if "." in path else ""
                problems.append(Problem(resource_type, name, path, f"is required by the provider and missing{where}"))
    for path, limit in sorted(type_facts.max_items.items()):
        for value in values_at(inputs, path):
            if isinstance(value, list) and len(value) > limit:
                problems.append(
                    Problem(resource_type, name, path, f"has {len(value)} items; the provider accepts at most {limit}")
                )
    return problems


def graph_problems(graph: Graph) -> list[Problem]:
    problems: list[Problem] = []
    for resource in graph.resources:
        if not resource.custom:
            continue
        type_facts = facts.for_type(resource.type)
        if type_facts is not None:
            problems += check_inputs(resource.type, resource.name, resource.inputs, type_facts)
    return problems


def validate_graph(graph: Graph) -> None:
    """Raise `InputRejected` listing every input the provider's validation would refuse."""
    problems = graph_problems(graph)
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems)
        raise InputRejected(
            f"the provider would refuse {len(problems)} input(s) of stack {graph.stack} "
            f"(schema of {facts.source_label()}):\n{lines}"
        )


@dataclass(frozen=True)
class Coverage:
    """Which declared resource types the engine has provider facts for."""

    declared: tuple[str, ...]
    from_schema: tuple[str, ...]
    from_overlay: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        known = set(self.from_schema) | set(self.from_overlay)
        return tuple(t for t in self.declared if t not in known)

    @property
    def covered(self) -> int:
        return len(self.declared) - len(self.missing)

    def line(self) -> str:
        share = 100 * self.covered / len(self.declared) if self.declared else 100.0
        text = (
            f"Provider facts: {self.covered}/{len(self.declared)} resource types covered ({share:.0f}%): "
            f"{len(self.from_schema)} from the schema of {facts.source_label()}, "
            f"{len(self.from_overlay)} from the hand-written table of other providers"
        )
        if self.missing:
            text += "; no facts for " + ", ".join(self.missing)
        return text


def coverage(graph_json: dict[str, Any]) -> Coverage:
    from .replacements import OTHER_PROVIDERS_FORCE_NEW

    declared = sorted(
        {r["type"] for r in graph_json["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:")}
    )
    return Coverage(
        declared=tuple(declared),
        from_schema=tuple(t for t in declared if facts.for_type(t) is not None),
        from_overlay=tuple(t for t in declared if t in OTHER_PROVIDERS_FORCE_NEW),
    )
