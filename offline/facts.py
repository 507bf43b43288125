"""The Google provider's schema facts, extracted from its source (offline/provider_facts/gcp.json).

`scripts/extract_provider_facts.py` writes the file from terraform-provider-google-beta's Go
schema at the revision pulumi-gcp bridges; its `provenance` says which. Per Pulumi type token:

- ``forceNew``: input paths (engine names, dots for nesting, no list indices) whose change
  replaces the resource (Terraform ``ForceNew``);
- ``forceNewIf``: path -> the name of the provider's CustomizeDiff rule that decides, from
  the old and new value, whether a change replaces it (``offline.replacements`` implements them);
- ``required``: paths the provider requires (inside a block: when the block is set);
- ``enums``: path -> the values the provider's validation accepts;
- ``maxItems``: path -> the longest list the provider accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

FACTS_FILE = Path(__file__).resolve().parent / "provider_facts" / "gcp.json"


@dataclass(frozen=True)
class TypeFacts:
    """What the provider's schema says about one resource type's inputs."""

    terraform_type: str
    force_new: tuple[str, ...] = ()
    force_new_if: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    max_items: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TypeFacts:
        return cls(
            terraform_type=data["tf"],
            force_new=tuple(data.get("forceNew", ())),
            force_new_if=dict(data.get("forceNewIf", {})),
            required=tuple(data.get("required", ())),
            enums={path: tuple(values) for path, values in data.get("enums", {}).items()},
            max_items=dict(data.get("maxItems", {})),
        )


@lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    return json.loads(FACTS_FILE.read_text(encoding="utf-8"))


@cache
def for_type(resource_type: str) -> TypeFacts | None:
    """The facts of a Pulumi type token, or None when the extraction has none (another provider)."""
    data = _raw()["resources"].get(resource_type)
    return TypeFacts.from_json(data) if data is not None else None


def provenance() -> dict[str, Any]:
    return _raw()["provenance"]


def source_label() -> str:
    """`terraform-provider-google-beta main@<commit> (after v7.45.0)`, for reports."""
    provider = provenance()["provider"]
    tags = provider.get("tags") or []
    if tags:
        return f"terraform-provider-google-beta {tags[0]}"
    return f"terraform-provider-google-beta main@{provider['commit'][:10]} (after {provider['newest_release_before']})"


def all_types() -> frozenset[str]:
    return frozenset(_raw()["resources"])
