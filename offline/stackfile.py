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
    try:
        # Every scalar as written (YAML 1.1's `off`, `012` or dates would otherwise change
        # meaning); the loader decodes each value against its field, as `pulumi up` does.
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise StackConfigError(
            source,
            [Problem("(stack file)", f"malformed YAML at {where}", f"fix the YAML syntax: {getattr(error, 'problem', error)}")],
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
