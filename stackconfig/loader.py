"""Turn the flat config map Pulumi hands a program into a validated `StackConfig`.

`pulumi up` and the offline engine go through the same `load_stack_config`: Pulumi gives the
program every value as a string (objects as JSON) in `pulumi.runtime` config, and the offline
engine puts the stack file's values there in exactly that form before running `__main__.py`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args, overload

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from .combinations import ConfigConflicts
from .compliance import missing_contacts_problem
from .errors import ConfigConflict, Problem, StackConfigError
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


@dataclass(frozen=True)
class ConfigProject:
    """How a Pulumi project's stack config is laid out: the main project's, or the load test's
    (`loadtest/infra`), both read by `load_stack_config`."""

    namespace: str
    """Where the project's own settings live: `omni-infra:` here."""
    known_namespaces: frozenset[str]
    """Every namespace a stack file may use (the project's, the providers', Pulumi's)."""
    provider_fields: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(PROVIDER_FIELDS))
    """Provider settings the model reads (`gcp:project` -> `project`)."""
    provider_secrets: tuple[str, ...] = ()
    """Provider settings that are credentials: refused in plain text."""
    provider_settings_home: str = "stackconfig/model.py and components/provider.py"
    """Where other provider settings belong, named when a stack sets one the program ignores."""
    project_dir: Path = Path(".")
    """The project's directory, as the messages name its stack files."""


MAIN_PROJECT = ConfigProject(PROJECT_NAMESPACE, KNOWN_NAMESPACES, PROVIDER_FIELDS, PROVIDER_SECRETS)
M = TypeVar("M", bound=BaseModel)


def stack_file_path(stack: str, project: ConfigProject = MAIN_PROJECT) -> str:
    """The stack's file as the messages name it, from the directory Pulumi runs in."""
    return str(stack_file(project.project_dir, stack))


@overload
def load_stack_config(
    stack: str, values: Mapping[str, str], secret_keys: set[str], source: str | None = None
) -> StackConfig: ...


@overload
def load_stack_config(
    stack: str,
    values: Mapping[str, str],
    secret_keys: set[str],
    source: str | None = None,
    *,
    model: type[M],
    project: ConfigProject = MAIN_PROJECT,
) -> M: ...


def load_stack_config(
    stack: str,
    values: Mapping[str, str],
    secret_keys: set[str],
    source: str | None = None,
    *,
    model: type[BaseModel] = StackConfig,
    project: ConfigProject = MAIN_PROJECT,
) -> BaseModel:
    """Validate one stack's config map against `model`; raise `StackConfigError` naming every
    bad key. `project` says where the project's settings live (the main project by default)."""
    source = source or stack_file_path(stack, project)
    namespace_ = project.namespace
    provider_fields = project.provider_fields
    problems: list[Problem] = []
    document: dict[str, Any] = {}
    for full_key, raw in sorted(values.items()):
        namespace, _, key = full_key.partition(":")
        if full_key in provider_fields:
            document[provider_fields[full_key]] = raw
        elif namespace == namespace_ and key in provider_fields.values():
            provider_key = next(k for k, v in provider_fields.items() if v == key)
            problems.append(
                Problem(
                    full_key,
                    _shown(full_key, raw, secret_keys),
                    f"set `{provider_key}` instead: the provider and the program read that one",
                )
            )
        elif namespace == namespace_:
            document[key] = raw if _is_text_field(model, key) else _decode(raw)
        elif namespace == "gcp":
            problems.append(
                Problem(
                    full_key,
                    "a provider setting the stack's explicit provider ignores",
                    f"only {', '.join(provider_fields)} are read; other provider settings belong in "
                    f"{project.provider_settings_home}. Remove it with `pulumi config rm '{full_key}' --stack {stack}`",
                )
            )
        elif namespace not in project.known_namespaces:
            problems.append(
                Problem(
                    full_key,
                    "an unknown config namespace",
                    f"allowed namespaces: {', '.join(sorted(project.known_namespaces))}; "
                    f"project settings go under `{namespace_}:`",
                )
            )
    problems.extend(_secrecy_problems(model, document, secret_keys, stack, project))
    problems.extend(
        Problem(key, "a plain-text value", f"must be encrypted: {_set_command(stack, key, project, secret=True)}")
        for key in project.provider_secrets
        if key in values and key not in secret_keys
    )
    try:
        config = model.model_validate(document)
    except ValidationError as error:
        for detail in error.errors():
            problems.extend(_problems(detail, stack, model, document, secret_keys, project))
        config = None
    environment = getattr(config, "environment", None)
    if isinstance(config, StackConfig) and stack in ENVIRONMENTS and environment != stack:
        # Otherwise a prod stack could call itself staging and drop prod's guards.
        problems.append(
            Problem(
                f"{PROJECT_NAMESPACE}:environment",
                repr(environment),
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
    _, field_info = _field_at(model, (key,))
    return field_info is not None and field_info.annotation in (str, SecretStr, str | None, SecretStr | None)


def _is_secret(annotation: Any) -> bool:
    return annotation in (SecretStr, SecretStr | None)


def _shown(full_key: str, value: Any, secret_keys: set[str]) -> str:
    return "[secret]" if full_key in secret_keys else _brief(value)


# A value echoed in an error is cut to this many characters: a message names what is wrong,
# it never reprints a section (nor a YAML alias expansion).
SHOWN_VALUE_MAX = 80


def _brief(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= SHOWN_VALUE_MAX else shown[: SHOWN_VALUE_MAX - 1] + "…"


def config_key(
    loc: tuple[int | str, ...], namespace: str = PROJECT_NAMESPACE, provider_fields: Mapping[str, str] = PROVIDER_FIELDS
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


def _top_level_key(loc: tuple[int | str, ...], project: ConfigProject) -> str:
    """The stack-file key a nested location lives under: what `secure:` applies to."""
    return config_key(loc[:1], project.namespace, project.provider_fields)


def _set_command(
    stack: str, key: str, project: ConfigProject = MAIN_PROJECT, *, secret: bool = False, example: str = "<value>"
) -> str:
    namespace, _, path = key.partition(":")
    target = path if namespace == project.namespace else key
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


def _problems(
    detail: ErrorDetails,
    stack: str,
    model: type[BaseModel],
    document: Mapping[str, Any],
    secret_keys: set[str],
    project: ConfigProject,
) -> list[Problem]:
    """One pydantic error as problems: a refusal naming its keys (`ConfigConflict`) is reported
    under those keys; a refusal of a whole section never echoes the section."""
    error = (detail.get("ctx") or {}).get("error")
    if isinstance(error, ConfigConflicts):
        return [_conflict_problem(conflict, stack, document, secret_keys, project) for conflict in error.conflicts]
    if isinstance(error, ConfigConflict) and error.keys:
        return [_conflict_problem(error, stack, document, secret_keys, project)]
    if not detail["loc"]:
        message = detail["msg"].removeprefix("Value error, ")
        return [Problem("(the stack's configuration)", "a combination of values", f"{message}; change the keys named")]
    return [_problem(detail, stack, model, secret_keys, project)]


def _conflict_problem(
    conflict: ConfigConflict, stack: str, document: Mapping[str, Any], secret_keys: set[str], project: ConfigProject
) -> Problem:
    """Every key of the conflict, its value as set (or its default), and the command for each."""
    locs = [tuple(path.split(".")) for path in conflict.keys]
    keys = [config_key(loc, project.namespace, project.provider_fields) for loc in locs]
    secret = any(_top_level_key(loc, project) in secret_keys for loc in locs)
    found = []
    for loc, key in zip(locs, keys, strict=True):
        value = _value_at(document, loc)
        if _top_level_key(loc, project) in secret_keys:
            shown = "[secret]"
        else:
            shown = "the default" if value is _UNSET else _brief(value)
        name = key.partition(":")[2] if key.startswith(f"{project.namespace}:") else key
        found.append(f"{name} = {shown}")
    reason = "rejected (the reason is withheld because a value involved is secret)" if secret else str(conflict)
    commands = " or ".join(
        _set_command(stack, key, project, secret=_top_level_key(loc, project) in secret_keys)
        for loc, key in zip(locs, keys, strict=True)
    )
    fix = f"change it with {commands}" if len(keys) == 1 else f"change one of them: {commands}"
    return Problem(", ".join(keys), ", ".join(found), f"{reason}; {fix}")


_UNSET = object()


def _value_at(document: Mapping[str, Any], loc: tuple[str, ...]) -> Any:
    """The value the stack file sets at `loc` (camelCase path), or `_UNSET` where it leaves the default."""
    value: Any = document
    for part in loc:
        if not isinstance(value, Mapping) or part not in value:
            return _UNSET
        value = value[part]
    return value


def _problem(
    detail: ErrorDetails, stack: str, model: type[BaseModel], secret_keys: set[str], project: ConfigProject
) -> Problem:
    loc = detail["loc"]
    key = config_key(loc, project.namespace, project.provider_fields)
    holder, field = _field_at(model, loc)
    kind = detail["type"]
    # A value stored encrypted is never echoed, whatever its field: the message too, since
    # validators quote the value they reject.
    secret = _top_level_key(loc, project) in secret_keys or (field is not None and _is_secret(field.annotation))
    if kind == "extra_forbidden":
        provider_owned = set(project.provider_fields.values()) if len(loc) == 1 else set()
        known = sorted(
            f.alias or n for n, f in (holder.model_fields.items() if holder else []) if n not in provider_owned
        )
        return Problem(
            key,
            "[secret]" if secret else _brief(detail["input"]),
            f"unknown key; this level takes: {', '.join(known)}. Remove it with "
            f"`pulumi config rm{' --path' if len(loc) > 1 else ''} '{key.partition(':')[2]}' --stack {stack}`",
        )
    if kind == "missing":
        is_secret_field = field is not None and _is_secret(field.annotation)
        what = "a required secret" if is_secret_field else "a required value"
        description = f" ({field.description})" if field is not None and field.description else ""
        return Problem(
            key,
            "(missing)",
            f"{what}{description}; set it with {_set_command(stack, key, project, secret=is_secret_field)}",
        )
    allowed = (
        f"rejected ({kind}; the reason is withheld because the value is secret)"
        if secret
        else detail["msg"].removeprefix("Value error, ")
    )
    default = ""
    if field is not None and not field.is_required() and field.default_factory is None:
        default = f" (default: {field.default!r}; remove the key to use it)"
    section = isinstance(detail["input"], Mapping)
    return Problem(
        key,
        "[secret]" if secret else "the section as set" if section else _brief(detail["input"]),
        f"{allowed}{default}; change it with {_set_command(stack, key, project, secret=secret)}",
    )


def _secrecy_problems(
    model: type[BaseModel], document: dict[str, Any], secret_keys: set[str], stack: str, project: ConfigProject
) -> list[Problem]:
    """Secret fields must be encrypted, and only secret fields may be."""
    problems = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        full_key = f"{project.namespace}:{key}"
        if key not in document:
            continue
        if _is_secret(field.annotation) and full_key not in secret_keys:
            problems.append(
                Problem(
                    full_key,
                    "a plain-text value",
                    f"must be encrypted: {_set_command(stack, full_key, project, secret=True)}",
                )
            )
        elif not _is_secret(field.annotation) and full_key in secret_keys:
            problems.append(
                Problem(
                    full_key,
                    "an encrypted value",
                    f"this setting is not a secret, and the program would use it in plain text; "
                    f"set it without --secret: {_set_command(stack, full_key, project)}",
                )
            )
    return problems


def deployment_problems(
    config: StackConfig, values: Mapping[str, str], stack: str, *, credentials: bool = True
) -> list[Problem]:
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
    if message := missing_contacts_problem(config.compliance, config.environment):
        problems.append(Problem(f"{PROJECT_NAMESPACE}:compliance.contacts", "(missing)", message))
    # The identity pool accepts one repository by its numeric ids; without them it would match a name.
    deploy = config.deploy
    for field_key, value, jq, what in (
        ("githubRepositoryId", deploy.github_repository_id, ".id", "repository"),
        ("githubOwnerId", deploy.github_owner_id, ".owner.id", "repository's owner"),
    ):
        if value is None:
            key = f"{PROJECT_NAMESPACE}:deploy.{field_key}"
            problems.append(
                Problem(
                    key,
                    "(missing)",
                    f"the numeric id of the {what} is required: the identity pool accepts GitHub's tokens for that id "
                    f"only (a name can be registered again by someone else); print it with "
                    f"`gh api repos/{deploy.github_repository} --jq {jq}` and set it with "
                    f"{_set_command(stack, key, example='<digits>')}",
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
