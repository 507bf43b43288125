"""The Kubernetes objects a recorded graph declares, as the manifests the provider would apply,
and their validation against the Kubernetes API schemas (kubernetes-validate, strict)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import yaml

from offline.graph import SECRET

# The Kubernetes version the manifests are checked against, pinned so that a newer schema in
# kubernetes-validate never changes a verdict by itself.
KUBERNETES_VERSION = "1.31.0"
OBJECT_FIELDS = ("apiVersion", "kind", "metadata", "spec", "data", "binaryData", "stringData", "type", "immutable")


def manifests_from_graph(graph: dict[str, Any]) -> list[dict[str, Any]]:
    """Each Kubernetes resource's inputs (what the provider receives), as a manifest.

    A field the graph records as a secret as a whole (a Secret's `stringData`) is left out:
    its contents are never rendered, and the rest of the object is still checked."""
    return [
        {
            key: resource["inputs"][key]
            for key in OBJECT_FIELDS
            if key in resource["inputs"] and resource["inputs"][key] != SECRET
        }
        for resource in graph["resources"]
        if str(resource["type"]).startswith("kubernetes:") and resource.get("custom")
    ]


def render_yaml(manifests: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(manifests, sort_keys=True, default_flow_style=False)


def validation_errors(manifests: list[dict[str, Any]], version: str = KUBERNETES_VERSION) -> list[str]:
    """One message per manifest the schema of `version` rejects (strict: unknown fields too)."""
    errors = []
    for manifest in manifests:
        what = f"{manifest.get('kind')} {manifest.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{what}: {error.message} at {'.'.join(str(part) for part in error.path)}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
            errors.append(f"{what}: no schema to validate with ({error})")
    return errors
