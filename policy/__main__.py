"""The policy pack as pulumi-policy runs it: each rule of `policy.rules` as a
`ResourceValidationPolicy`, fed the resource through `policy_resource`.

Pulumi runs this file with `runpy.run_path(<pack dir>)`: the pack directory is on the path,
the repository root is not, so it is put there first; `policy.rules` is then the very module
`omni check` imports. The pack starts (and blocks serving Pulumi's analyzer) only when run as
the main module, so tests import it to exercise the adapter.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from offline.graph import UNKNOWN
from policy.rules import PACK_NAME, RULES, STACK_RULES, Enforcement, PolicyResource, Rule, StackRule

LEVELS: dict[Enforcement, EnforcementLevel] = {
    Enforcement.MANDATORY: EnforcementLevel.MANDATORY,
    Enforcement.ADVISORY: EnforcementLevel.ADVISORY,
}


def plain(value: Any) -> Any:
    """pulumi-policy's props as plain data, each value unknown in a preview replaced by the
    graph's ``UNKNOWN`` marker (the props proxy raises `UnknownValueError` when one is read),
    so a rule sees what it sees offline."""
    if isinstance(value, Mapping):
        mapping: Mapping[Any, Any] = value
        return {key: _read(lambda key=key: mapping[key]) for key in mapping}
    if isinstance(value, Sequence) and not isinstance(value, str):
        sequence: Sequence[Any] = value
        return [_read(lambda i=i: sequence[i]) for i in range(len(sequence))]
    return value


def _read(get: Any) -> Any:
    try:
        return plain(get())
    except UnknownValueError:
        return UNKNOWN


def policy_resource(resource: ResourceValidationArgs | Any) -> PolicyResource:
    """The adapter: a resource as pulumi-policy hands it over (a `ResourceValidationArgs`, or a
    stack validation's resource: the same fields) as the `PolicyResource` the rules read."""
    provider = resource.provider
    return PolicyResource(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        inputs=plain(resource.props),
        protect=bool(resource.opts.protect),
        parent=resource.opts.parent,
        provider_inputs=plain(provider.props) if provider is not None else {},
    )


def validation_policy(rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.check(policy_resource(args)):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        enforcement_level=LEVELS[rule.enforcement],
        validate=validate,
    )


POLICIES: list[ResourceValidationPolicy] = [validation_policy(rule) for rule in RULES]


def stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        # Custom resources only, as `omni check` sees them (components and providers carry no inputs to judge).
        resources = [policy_resource(r) for r in args.resources if not r.resource_type.startswith(("pulumi:", "omni:"))]
        for message in rule.check(resources):
            report_violation(message, None)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        enforcement_level=LEVELS[rule.enforcement],
        validate=validate,
    )


STACK_POLICIES: list[StackValidationPolicy] = [stack_policy(rule) for rule in STACK_RULES]

if __name__ == "__main__":
    PolicyPack(name=PACK_NAME, policies=[*POLICIES, *STACK_POLICIES])
