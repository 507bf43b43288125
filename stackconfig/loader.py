"""Turn the flat config map Pulumi hands a program into a validated `StackConfig`.

`pulumi up` and the offline engine go through the same `load_stack_config`: Pulumi gives the
program every value as a string (objects as JSON) in `pulumi.runtime` config, and the offline
engine puts the stack file's values there in exactly that form before running `__main__.py`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from .errors import Problem, StackConfigError
from .model import PROJECT_NAMESPACE, StackConfig

# Config namespaces a stack file may use: ours, the providers' and Pulumi's own.
KNOWN_NAMESPACES = frozenset({PROJECT_NAMESPACE, "gcp", "pulumi", "random", "kubernetes", "pagerduty"})
# Provider settings our model reads as its own fields.
PROVIDER_FIELDS = {"gcp:project": "project", "gcp:region": "region"}
SECRET_PLACEHOLDER = "[secret]"


def stack_file_path(stack: str) -> str:
    return f"stacks/Pulumi.{stack}.yaml"


def runtime_config() -> tuple[dict[str, str], set[str]]:
    """The config map and secret keys of the running Pulumi program (`pulumi up` or offline)."""
    from pulumi.runtime import config as runtime

    values: dict[str, str] = dict(runtime.get_config_env())
    values.update(runtime.CONFIG.get())
    secret_keys = set(runtime.get_config_secret_keys_env()) | set(runtime._SECRET_KEYS.get())
    return values, secret_keys


def load_stack_config(
    stack: str,
    values: Mapping[str, str],
    secret_keys: set[str],
    source: str | None = None,
    model: type[StackConfig] = StackConfig,
) -> StackConfig:
    """Validate one stack's config map; raise `StackConfigError` naming every bad key."""
    source = source or stack_file_path(stack)
    problems: list[Problem] = []
    document: dict[str, Any] = {}
    for full_key, raw in sorted(values.items()):
        namespace, _, key = full_key.partition(":")
        if full_key in PROVIDER_FIELDS:
            document[PROVIDER_FIELDS[full_key]] = raw
        elif namespace == PROJECT_NAMESPACE:
            document[key] = _decode(raw)
        elif namespace not in KNOWN_NAMESPACES:
            problems.append(
                Problem(
                    full_key,
                    "an unknown config namespace",
                    f"allowed namespaces: {', '.join(sorted(KNOWN_NAMESPACES))}; "
                    f"project settings go under `{PROJECT_NAMESPACE}:`",
                )
            )
    problems.extend(_plaintext_secrets(model, document, secret_keys, stack))
    try:
        config = model.model_validate(document)
    except ValidationError as error:
        problems.extend(_problem(detail, stack, model) for detail in error.errors())
        config = None
    if problems or config is None:
        raise StackConfigError(source, sorted(problems, key=lambda p: p.key))
    return config


def _decode(raw: str) -> Any:
    """Pulumi passes objects, lists, numbers and booleans as JSON text, strings as they are."""
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def _config_key(loc: tuple[int | str, ...]) -> str:
    """`('network', 'subnetCidr')` → `omni-infra:network.subnetCidr` (or `gcp:project`)."""
    if not loc:
        return f"{PROJECT_NAMESPACE}:(stack)"
    first = str(loc[0])
    for provider_key, field_name in PROVIDER_FIELDS.items():
        if first == field_name:
            return provider_key
    path = first + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:])
    return f"{PROJECT_NAMESPACE}:{path}"


def _set_command(stack: str, key: str, *, secret: bool = False, example: str = "<value>") -> str:
    namespace, _, path = key.partition(":")
    target = path if namespace == PROJECT_NAMESPACE else key
    flags = " --secret" if secret else ""
    flags += " --path" if "." in path or "[" in path else ""
    return f"`pulumi config set{flags} '{target}' {example} --stack {stack}`"


def _field_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[type[BaseModel] | None, Any]:
    """The model class that holds the key at `loc`, and that key's field (None where unknown)."""
    holder: type[BaseModel] | None = model
    for index, part in enumerate(loc):
        if holder is None or not isinstance(part, str):
            return None, None
        field = next((f for name, f in holder.model_fields.items() if part in (name, f.alias)), None)
        if field is None or index == len(loc) - 1:
            return holder, field
        annotation = field.annotation
        holder = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return holder, None


def _problem(detail: ErrorDetails, stack: str, model: type[BaseModel]) -> Problem:
    loc = detail["loc"]
    key = _config_key(loc)
    holder, field = _field_at(model, loc)
    kind = detail["type"]
    if kind == "extra_forbidden":
        provider_owned = set(PROVIDER_FIELDS.values()) if len(loc) == 1 else set()
        known = sorted(f.alias or n for n, f in (holder.model_fields.items() if holder else []) if n not in provider_owned)
        return Problem(
            key,
            f"{detail['input']!r}",
            f"unknown key; this level takes: {', '.join(known)}. Remove it with "
            f"`pulumi config rm{' --path' if len(loc) > 1 else ''} '{key.partition(':')[2]}' --stack {stack}`",
        )
    is_secret = field is not None and field.annotation is SecretStr
    if kind == "missing":
        what = "a required secret" if is_secret else "a required value"
        description = f" ({field.description})" if field is not None and field.description else ""
        return Problem(key, "(missing)", f"{what}{description}; set it with {_set_command(stack, key, secret=is_secret)}")
    found = SECRET_PLACEHOLDER if is_secret else repr(detail["input"])
    allowed = detail["msg"].removeprefix("Value error, ")
    default = ""
    if field is not None and not field.is_required() and field.default_factory is None:
        default = f" (default: {field.default!r}; remove the key to use it)"
    return Problem(key, found, f"{allowed}{default}; change it with {_set_command(stack, key)}")


def _plaintext_secrets(
    model: type[BaseModel], document: dict[str, Any], secret_keys: set[str], stack: str
) -> list[Problem]:
    """A secret field given as plain text would sit unencrypted in the stack file."""
    problems = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        full_key = f"{PROJECT_NAMESPACE}:{key}"
        if field.annotation is SecretStr and key in document and full_key not in secret_keys:
            problems.append(
                Problem(
                    full_key,
                    "a plain-text value",
                    f"must be encrypted: {_set_command(stack, full_key, secret=True)}",
                )
            )
    return problems


def load_from_runtime(stack: str) -> StackConfig:
    """What `__main__.py` calls: the running stack's config, validated."""
    values, secret_keys = runtime_config()
    return load_stack_config(stack, values, secret_keys)
