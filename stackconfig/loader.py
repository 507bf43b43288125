"""Turn the flat config map Pulumi hands a program into a validated `StackConfig`.

`pulumi up` and the offline engine go through the same `load_stack_config`: Pulumi gives the
program every value as a string (objects as JSON) in `pulumi.runtime` config, and the offline
engine puts the stack file's values there in exactly that form before running `__main__.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, get_args

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from .errors import Problem, StackConfigError
from .location import stack_file
from .model import PROJECT_NAMESPACE, Environment, StackConfig
from .runtime import providers_run, runtime_config

# Config namespaces a stack file may use: ours, the providers' and Pulumi's own.
KNOWN_NAMESPACES = frozenset({PROJECT_NAMESPACE, "gcp", "pulumi", "random", "kubernetes", "pagerduty"})
# The only provider settings a stack sets: the explicit gcp provider takes these two from the
# model, and ignores every other `gcp:` key (only the default provider would read them).
PROVIDER_FIELDS = {"gcp:project": "project", "gcp:region": "region"}
# Provider settings a stack file may hold that are credentials: refused in plain text.
PAGERDUTY_TOKEN = "pagerduty:token"
PROVIDER_SECRETS = (PAGERDUTY_TOKEN,)
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)


def stack_file_path(stack: str) -> str:
    """The stack's file as the messages name it, from the project directory Pulumi runs in."""
    return str(stack_file(Path("."), stack))


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
        elif namespace == PROJECT_NAMESPACE and key in PROVIDER_FIELDS.values():
            provider_key = next(k for k, v in PROVIDER_FIELDS.items() if v == key)
            problems.append(Problem(full_key, _shown(full_key, raw, secret_keys), f"set `{provider_key}` instead: the provider and the program read that one"))
        elif namespace == PROJECT_NAMESPACE:
            document[key] = raw if _is_text_field(model, key) else _decode(raw)
        elif namespace == "gcp":
            problems.append(
                Problem(
                    full_key,
                    "a provider setting the stack's explicit provider ignores",
                    f"only {', '.join(PROVIDER_FIELDS)} are read; other provider settings belong in "
                    f"stackconfig/model.py and components/provider.py. Remove it with `pulumi config rm '{full_key}' --stack {stack}`",
                )
            )
        elif namespace not in KNOWN_NAMESPACES:
            problems.append(
                Problem(
                    full_key,
                    "an unknown config namespace",
                    f"allowed namespaces: {', '.join(sorted(KNOWN_NAMESPACES))}; "
                    f"project settings go under `{PROJECT_NAMESPACE}:`",
                )
            )
    problems.extend(_secrecy_problems(model, document, secret_keys, stack))
    problems.extend(
        Problem(key, "a plain-text value", f"must be encrypted: {_set_command(stack, key, secret=True)}")
        for key in PROVIDER_SECRETS
        if key in values and key not in secret_keys
    )
    try:
        config = model.model_validate(document)
    except ValidationError as error:
        problems.extend(_problem(detail, stack, model, secret_keys) for detail in error.errors())
        config = None
    if config is not None and stack in ENVIRONMENTS and config.environment != stack:
        # Otherwise a prod stack could call itself staging and drop prod's guards.
        problems.append(
            Problem(
                f"{PROJECT_NAMESPACE}:environment",
                repr(config.environment),
                f"the {stack} stack must be the {stack} environment; "
                f"change it with `pulumi config set 'environment' {stack} --stack {stack}`",
            )
        )
    if problems or config is None:
        raise StackConfigError(source, sorted(problems, key=lambda p: p.key))
    return config


def _decode(raw: str) -> Any:
    """Pulumi passes objects, lists, numbers and booleans as JSON text, strings as they are."""
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def _is_text_field(model: type[BaseModel], key: str) -> bool:
    """A text field takes the raw string: `"0123"` or a JSON-looking secret stays as written."""
    _, field = _field_at(model, (key,))
    return field is not None and field.annotation in (str, SecretStr)


def _shown(full_key: str, value: Any, secret_keys: set[str]) -> str:
    return "[secret]" if full_key in secret_keys else repr(value)


def config_key(
    loc: tuple[int | str, ...], namespace: str = PROJECT_NAMESPACE, provider_fields: dict[str, str] = PROVIDER_FIELDS
) -> str:
    """`('network', 'subnetCidr')` → `omni-infra:network.subnetCidr` (or `gcp:project`)."""
    if not loc:
        return f"{namespace} (several keys)"
    first = str(loc[0])
    for provider_key, field_name in provider_fields.items():
        if first == field_name:
            return provider_key
    path = first + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:])
    return f"{namespace}:{path}"


def _top_level_key(loc: tuple[int | str, ...]) -> str:
    """The stack-file key a nested location lives under: what `secure:` applies to."""
    return config_key(loc[:1])


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


def _problem(detail: ErrorDetails, stack: str, model: type[BaseModel], secret_keys: set[str]) -> Problem:
    loc = detail["loc"]
    key = config_key(loc)
    holder, field = _field_at(model, loc)
    kind = detail["type"]
    # A value stored encrypted is never echoed, whatever its field: the message too, since
    # validators quote the value they reject.
    secret = _top_level_key(loc) in secret_keys or (field is not None and field.annotation is SecretStr)
    if kind == "extra_forbidden":
        provider_owned = set(PROVIDER_FIELDS.values()) if len(loc) == 1 else set()
        known = sorted(f.alias or n for n, f in (holder.model_fields.items() if holder else []) if n not in provider_owned)
        return Problem(
            key,
            "[secret]" if secret else repr(detail["input"]),
            f"unknown key; this level takes: {', '.join(known)}. Remove it with "
            f"`pulumi config rm{' --path' if len(loc) > 1 else ''} '{key.partition(':')[2]}' --stack {stack}`",
        )
    if kind == "missing":
        is_secret_field = field is not None and field.annotation is SecretStr
        what = "a required secret" if is_secret_field else "a required value"
        description = f" ({field.description})" if field is not None and field.description else ""
        return Problem(key, "(missing)", f"{what}{description}; set it with {_set_command(stack, key, secret=is_secret_field)}")
    allowed = f"rejected ({kind}; the reason is withheld because the value is secret)" if secret else detail["msg"].removeprefix("Value error, ")
    default = ""
    if field is not None and not field.is_required() and field.default_factory is None:
        default = f" (default: {field.default!r}; remove the key to use it)"
    return Problem(
        key,
        "[secret]" if secret else repr(detail["input"]),
        f"{allowed}{default}; change it with {_set_command(stack, key, secret=secret)}",
    )


def _secrecy_problems(model: type[BaseModel], document: dict[str, Any], secret_keys: set[str], stack: str) -> list[Problem]:
    """Secret fields must be encrypted, and only secret fields may be."""
    problems = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        full_key = f"{PROJECT_NAMESPACE}:{key}"
        if key not in document:
            continue
        if field.annotation is SecretStr and full_key not in secret_keys:
            problems.append(
                Problem(full_key, "a plain-text value", f"must be encrypted: {_set_command(stack, full_key, secret=True)}")
            )
        elif field.annotation is not SecretStr and full_key in secret_keys:
            problems.append(
                Problem(
                    full_key,
                    "an encrypted value",
                    f"this setting is not a secret, and the program would use it in plain text; "
                    f"set it without --secret: {_set_command(stack, full_key)}",
                )
            )
    return problems


def deployment_problems(config: StackConfig, values: Mapping[str, str], stack: str, *, credentials: bool = True) -> list[Problem]:
    """What a stack needs before it can deploy, beyond valid values: where its alerts go and,
    when `credentials` (providers really run), the PagerDuty token. Defaults cannot name
    people or inboxes, so these are checked here rather than by the model."""
    alerting = config.alerting
    problems = []
    if alerting.ticket_email is None:
        key = f"{PROJECT_NAMESPACE}:alerting.ticketEmail"
        problems.append(
            Problem(
                key,
                "(missing)",
                "the ticket queue's address is required: warnings (and critical alerts where nothing pages) "
                f"are emailed there; set it with {_set_command(stack, key, example='<address>')}",
            )
        )
    if alerting.pagerduty.enabled and not alerting.pagerduty.on_call:
        key = f"{PROJECT_NAMESPACE}:alerting.pagerduty.onCall[0]"
        problems.append(
            Problem(
                f"{PROJECT_NAMESPACE}:alerting.pagerduty.onCall",
                "(missing)",
                "paging is on, so the rotation needs at least one PagerDuty user ID; add one with "
                f"{_set_command(stack, key, example='PXPGF42')}, or turn paging off with "
                f"{_set_command(stack, f'{PROJECT_NAMESPACE}:alerting.pagerduty.enabled', example='false')}",
            )
        )
    if credentials and alerting.pagerduty.enabled and PAGERDUTY_TOKEN not in values:
        problems.append(
            Problem(
                PAGERDUTY_TOKEN,
                "(missing)",
                "a PagerDuty REST API key with write access (Integrations > API Access Keys) is required "
                f"while paging is on; set it with {_set_command(stack, PAGERDUTY_TOKEN, secret=True, example='<key>')}",
            )
        )
    return problems


def load_from_runtime(stack: str) -> StackConfig:
    """What `__main__.py` calls: the running stack's config, validated and ready to deploy."""
    values, secret_keys = runtime_config()
    config = load_stack_config(stack, values, secret_keys)
    problems = deployment_problems(config, values, stack, credentials=providers_run())
    if problems:
        raise StackConfigError(stack_file_path(stack), problems)
    return config
