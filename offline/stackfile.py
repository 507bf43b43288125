"""Read a stack file offline into the config map `pulumi up` would hand the program.

Secrets are never decrypted here: a `secure:` value becomes a placeholder that the program
receives as a Pulumi secret, so it is recorded as `[secret]` and never printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from stackconfig.errors import Problem, StackConfigError
from stackconfig.location import STACK_FILE_GLOB, stack_of

# What the offline engine hands the program for a `secure:` value. Distinct from the `[secret]`
# mask, so that the engine can tell a secret the program passed on in plain text.
SECRET_PLACEHOLDER = "offline-placeholder-for-a-secret-value"

# A stack file holds only what differs per environment: a few KiB. Anything near this is a
# mistake (a pasted file, a generated blob) and is refused before it is parsed.
STACK_FILE_MAX_BYTES = 1024 * 1024
# YAML aliases (`*name`) repeat a node; a few are harmless, but nested ones grow exponentially
# (an "alias bomb"). Refused beyond this many aliases, or when expanding them would make more
# nodes than the budget.
MAX_ALIASES = 16
MAX_EXPANDED_NODES = 10_000


class StackFileRefused(yaml.YAMLError):
    """A well-formed YAML document the stack file reader still refuses; carries the problem."""

    def __init__(self, *problems: Problem):
        super().__init__("; ".join(problem.allowed for problem in problems))
        self.problems = list(problems)


class StackFileLoader(yaml.BaseLoader):
    """BaseLoader (every scalar stays text) that refuses a key written twice in one mapping,
    with its path and both line numbers (YAML would keep the last silently), and alias bombs."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                line = self.peek_event().start_mark.line + 1
                raise StackFileRefused(
                    Problem(
                        "(stack file)",
                        f"more than {MAX_ALIASES} YAML aliases (line {line})",
                        "write the values out: a stack file is short",
                    )
                )
        return super().compose_node(parent, index)

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None and self.aliases:
            expanded = _expanded_size(node, {})
            if expanded > MAX_EXPANDED_NODES:
                raise StackFileRefused(
                    Problem(
                        "(stack file)",
                        f"YAML aliases that expand to more than {MAX_EXPANDED_NODES} values",
                        "write the values out instead of nesting aliases",
                    )
                )
        if node is not None and (duplicates := _duplicate_keys(node, (), set())):
            raise StackFileRefused(*duplicates)
        return node


def _duplicate_keys(node: yaml.Node, path: tuple[str, ...], visited: set[int]) -> list[Problem]:
    """Every key written twice in one mapping, named by its path as a config key
    (`omni-infra:api.minInstances`), with both lines. Each node is walked once."""
    if id(node) in visited:
        return []
    visited.add(id(node))
    problems = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        _config_path((*path, key)),
                        f"written twice, at lines {seen[key]} and {line}",
                        "a key may appear once (YAML would silently keep the last): merge the two into one",
                    )
                )
            seen.setdefault(key, line)
            problems.extend(_duplicate_keys(value_node, (*path, key), visited))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems.extend(_duplicate_keys(item, (*path, f"[{index}]"), visited))
    return problems


def _config_path(path: tuple[str, ...]) -> str:
    """`('config', 'omni-infra:api', 'minInstances')` -> `omni-infra:api.minInstances`."""
    parts = path[1:] if path[:1] == ("config",) and len(path) > 1 else path
    return "".join(part if index == 0 or part.startswith("[") else f".{part}" for index, part in enumerate(parts))


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes `node` stands for once every alias is expanded (memoised per node, so
    computing it stays linear in the document however large the expansion)."""
    if id(node) in sizes:
        return sizes[id(node)]
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value)
    sizes[id(node)] = size
    return size


# Top-level keys Pulumi itself writes into a stack file besides `config`.
STACK_FILE_KEYS = frozenset({"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"})


def read_stack_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """The stack file's config as Pulumi passes it to a program, and which keys are secret."""
    source = str(path)
    if not path.is_file():
        known = sorted(p.name for p in path.parent.glob(STACK_FILE_GLOB)) if path.parent.is_dir() else []
        raise StackConfigError(
            source,
            [
                Problem(
                    "(stack file)",
                    "no such file",
                    f"existing stack files: {', '.join(known) or 'none'}; create one with "
                    f"`pulumi stack init {stack_of(path)}` and keep only what differs from the defaults",
                )
            ],
        )
    size = path.stat().st_size
    if size > STACK_FILE_MAX_BYTES:
        raise StackConfigError(
            source,
            [
                Problem(
                    "(stack file)",
                    f"{size} bytes",
                    f"a stack file holds what differs per environment: {STACK_FILE_MAX_BYTES // 1024} KiB at most",
                )
            ],
        )
    try:
        # Every scalar as written (YAML 1.1's `off`, `012` or dates would otherwise change
        # meaning); the loader decodes each value against its field, as `pulumi up` does.
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=StackFileLoader) or {}
    except StackFileRefused as refused:
        raise StackConfigError(source, refused.problems) from None
    except UnicodeDecodeError as error:
        where = f"{error.reason} at byte {error.start}"
        problem = Problem("(stack file)", "not UTF-8 text", f"save it as UTF-8 ({where})")
        raise StackConfigError(source, [problem]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise StackConfigError(
            source,
            [
                Problem(
                    "(stack file)",
                    f"malformed YAML at {where}",
                    f"fix the YAML syntax: {getattr(error, 'problem', error)}",
                )
            ],
        ) from None
    if not isinstance(document, dict):
        raise StackConfigError(
            source, [Problem("(stack file)", type(document).__name__, "a mapping with a `config:` section")]
        )
    problems = [
        Problem(str(key), "an unknown top-level key", f"a stack file takes: {', '.join(sorted(STACK_FILE_KEYS))}")
        for key in document
        if key not in STACK_FILE_KEYS
    ]
    config = document.get("config") or {}
    if not isinstance(config, dict):
        problems.append(Problem("config", type(config).__name__, "a mapping of `namespace:key: value`"))
        config = {}
    for key in config:
        if not isinstance(key, str) or ":" not in key:
            problems.append(Problem(str(key), "a key without a namespace", "write it as `omni-infra:<key>`"))
    if problems:
        raise StackConfigError(source, problems)

    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        masked, secret = _mask_secrets(value)
        values[key] = masked if isinstance(masked, str) else json.dumps(masked, sort_keys=True)
        if secret:
            secret_keys.add(key)
    return values, secret_keys


def _mask_secrets(value: Any) -> tuple[Any, bool]:
    """Replace every `{secure: ...}` (at any depth) with the placeholder; say if any was found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        masked = {}
        for key, item in value.items():
            masked[key], secret = _mask_secrets(item)
            found = found or secret
        return masked, found
    if isinstance(value, list):
        pairs = [_mask_secrets(item) for item in value]
        return [item for item, _ in pairs], any(secret for _, secret in pairs)
    return value, False
