"""Packages import one way: the layering table in docs/architecture.md, read here, is the rule.

Every module's imports are parsed (function-local and TYPE_CHECKING imports too): an import the
table does not allow fails, and so does any cycle between packages.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PROGRAM = "__main__"
# Folders that hold no package of the project (tests may import anything).
NOT_PACKAGES = frozenset({"tests", "docs", "scripts", "snapshots", "stacks", "node_modules"})


def read_layers(text: str) -> dict[str, tuple[str, ...]]:
    """Package -> the packages it may import, in table order (bottom layer first)."""
    section = re.search(r"<!-- layers[^>]*-->(.*?)<!-- /layers -->", text, re.S)
    assert section, f"{ARCHITECTURE} has no <!-- layers --> table"
    layers: dict[str, tuple[str, ...]] = {}
    for line in section.group(1).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        layers[cells[0].strip("`")] = tuple(re.findall(r"`([^`]+)`", cells[1]))
    return layers


LAYERS = read_layers(ARCHITECTURE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Import:
    file: str
    line: int
    source: str  # the importing package
    target: str  # the imported package
    module: str  # as written, resolved: `components.cloud_run`

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.source} imports {self.module}"


def package_of(path: Path) -> str | None:
    relative = path.relative_to(ROOT)
    if len(relative.parts) == 1:
        return PROGRAM if relative.name == "__main__.py" else None
    top = relative.parts[0]
    if top in NOT_PACKAGES or top.startswith("."):
        return None
    return top


def project_packages() -> set[str]:
    found = {PROGRAM}
    for path in ROOT.iterdir():
        if (
            path.is_dir()
            and path.name not in NOT_PACKAGES
            and not path.name.startswith(".")
            and any(path.rglob("*.py"))
        ):
            found.add(path.name)
    return found


def imports_of(
    source: str, module_path: tuple[str, ...], package: str, packages: set[str], file: str
) -> Iterator[Import]:
    """The imports of one module's source that reach another of our packages.

    `module_path` is the module's dotted location (`("components", "cloud_run", "service")`),
    which resolves relative imports."""
    nodes = sorted(
        (node for node in ast.walk(ast.parse(source, filename=file)) if isinstance(node, ast.Import | ast.ImportFrom)),
        key=lambda node: node.lineno,
    )
    for node in nodes:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module_path[: len(module_path) - node.level]
                names = [".".join((*base, node.module) if node.module else base)]
            elif node.module:
                names = [node.module]
        for name in names:
            target = name.split(".")[0]
            if target in packages and target != package:
                yield Import(file, node.lineno, package, target, name)


def all_imports() -> list[Import]:
    packages = project_packages()
    found: list[Import] = []
    for path in sorted(ROOT.rglob("*.py")):
        if any(part.startswith(".") or part == "node_modules" for part in path.relative_to(ROOT).parts):
            continue
        package = package_of(path)
        if package is None:
            continue
        module_path = path.relative_to(ROOT).with_suffix("").parts
        found.extend(
            imports_of(path.read_text(encoding="utf-8"), module_path, package, packages, str(path.relative_to(ROOT)))
        )
    return found


def violations(imports: list[Import], layers: Mapping[str, tuple[str, ...]]) -> list[Import]:
    return [i for i in imports if i.target not in layers.get(i.source, ())]


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one package (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def edges_of(imports: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for i in imports:
        edges.setdefault(i.source, set()).add(i.target)
    return edges


IMPORTS = all_imports()


def test_every_package_has_a_row_in_the_layering_table() -> None:
    assert project_packages() == set(LAYERS), (
        "docs/architecture.md's layering table and the repository's packages differ: "
        f"missing rows {sorted(project_packages() - set(LAYERS))}, "
        f"rows of no package {sorted(set(LAYERS) - project_packages())}"
    )


def test_every_import_between_packages_is_one_the_layering_allows() -> None:
    wrong = violations(IMPORTS, LAYERS)
    assert not wrong, "imports against docs/architecture.md's layering:\n" + "\n".join(map(str, wrong))


def test_no_import_cycle_between_packages() -> None:
    assert cycles(edges_of(IMPORTS)) == []


def test_the_layering_table_itself_has_no_cycle_and_names_only_packages() -> None:
    assert cycles({source: set(targets) for source, targets in LAYERS.items()}) == []
    assert {target for targets in LAYERS.values() for target in targets} <= set(LAYERS)


def test_each_layer_imports_only_layers_listed_above_it_in_the_table() -> None:
    """Bottom first: a row may name only rows before it, so reading top-down never meets a forward reference."""
    order = list(LAYERS)
    for source, targets in LAYERS.items():
        assert all(order.index(target) < order.index(source) for target in targets), source


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        # config -> components -> program
        ("stackconfig", "components"),
        ("stackconfig", PROGRAM),
        ("components", PROGRAM),
        # observability -> dashboards and alerts
        ("observability", "dashboards"),
        ("observability", "alerts"),
        # offline reads the program, never the reverse
        (PROGRAM, "offline"),
        ("components", "offline"),
        ("stackconfig", "offline"),
        ("dashboards", "offline"),
        ("alerts", "offline"),
        ("statuspage", "offline"),
    ],
)
def test_the_founders_direction_holds(lower: str, upper: str) -> None:
    assert upper not in LAYERS[lower], f"{lower} may not import {upper}"
    assert not [i for i in IMPORTS if i.source == lower and i.target == upper]


def test_the_program_reaches_no_tooling_package_even_indirectly() -> None:
    reachable: set[str] = set()
    todo = [PROGRAM]
    while todo:
        for target in LAYERS[todo.pop()]:
            if target not in reachable:
                reachable.add(target)
                todo.append(target)
    assert reachable.isdisjoint({"offline", "policy", "lab", "loadtest", "localrun", "cli", "benchmarks"})


def test_a_sideways_import_is_caught_even_inside_a_function_and_relative_ones_resolve() -> None:
    packages = {"stackconfig", "components", "offline"}
    source = (
        "from __future__ import annotations\n"
        "from ..options import child_options\n"
        "def describe():\n"
        "    from offline.graph import SECRET\n"
        "from stackconfig import platform\n"
    )
    module = ("components", "cloud_run", "service")
    found = list(imports_of(source, module, "components", packages, "components/cloud_run/service.py"))
    assert [(i.target, i.line) for i in found] == [("offline", 4), ("stackconfig", 5)]
    assert violations(found, {"components": ("stackconfig",)}) == found[:1]


def test_a_cycle_between_packages_is_found() -> None:
    assert cycles({"lab": {"loadtest"}, "loadtest": {"localrun", "lab"}, "localrun": set()}) == [["lab", "loadtest"]]
