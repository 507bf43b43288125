"""Where a Pulumi project keeps its stack files: the one place that works the path out.

Pulumi reads `Pulumi.<stack>.yaml` from the directory `Pulumi.yaml`'s `stackConfigDir` names
(the project's own directory when unset); the loader's messages, the offline engine, the
dashboards and the load test's project all ask here.
"""

from __future__ import annotations

from pathlib import Path

import yaml

STACK_FILE_GLOB = "Pulumi.*.yaml"


def stack_file_name(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def stack_of(path: Path) -> str:
    """`stacks/Pulumi.dev.yaml` -> `dev`."""
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def stack_config_dir(project_dir: Path, manifest: dict[str, object] | None = None) -> Path:
    """The directory of the project's stack files; `manifest` is Pulumi.yaml already read, if any."""
    if manifest is None:
        project_file = project_dir / "Pulumi.yaml"
        manifest = {}
        if project_file.is_file():
            loaded = yaml.safe_load(project_file.read_text(encoding="utf-8"))
            manifest = loaded if isinstance(loaded, dict) else {}
    return project_dir / str(manifest.get("stackConfigDir") or ".")


def stack_file(project_dir: Path, stack: str) -> Path:
    """`<project>/stacks/Pulumi.<stack>.yaml`, honouring Pulumi.yaml's `stackConfigDir`."""
    return stack_config_dir(project_dir) / stack_file_name(stack)
