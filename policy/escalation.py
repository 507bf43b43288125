"""What each principal can reach through the IAM bindings a stack's graph declares.

Reach follows the ways one grant leads to more: setting IAM on the project (to the roles its
condition allows, or any role without one), setting IAM on a service account (the holder grants
itself a token creator role there), creating tokens, signatures or keys for an account
(impersonation), and `actAs` (deploying something that runs as the account), repeated through
chains of accounts. Each reached permission keeps the condition of the grant it came from, and
a permission a deny policy refuses to an identity is not usable by that identity, whatever it
holds. Role permissions come from `policy.iam_roles` (predefined) and from the graph (custom).

Read an *applied* graph (`run_stack(..., preview=False)`): emails and names are resolved there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policy.iam_roles import ACCOUNT_SET_IAM, ACT_AS, ESCALATION_PERMISSIONS, IMPERSONATION, PROJECT_SET_IAM, ROLES

PROJECT = "project"
ANY_ROLE = "*"
GRANT_LIMIT = re.compile(r"modifiedGrantsByRole', \[\]\)\.hasOnly\(\[(.*)\]\)")
# Where each IAM member type keeps what it grants on.
SCOPES: dict[str, tuple[str, str]] = {
    "gcp:projects/iAMMember:IAMMember": (PROJECT, ""),
    "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccount", "serviceAccountId"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("secret", "secretId"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("bucket", "bucket"),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": ("runService", "name"),
    "gcp:cloudrunv2/jobIamMember:JobIamMember": ("runJob", "name"),
    "gcp:iap/webCloudRunServiceIamMember:WebCloudRunServiceIamMember": ("iapService", "cloudRunServiceName"),
    "gcp:pubsub/topicIAMMember:TopicIAMMember": ("topic", "topic"),
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": ("subscription", "subscription"),
    "gcp:bigquery/datasetIamMember:DatasetIamMember": ("dataset", "datasetId"),
    "gcp:bigquery/iamMember:IamMember": ("table", "tableId"),
}
CUSTOM_ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
DENY_POLICY = "gcp:iam/denyPolicy:DenyPolicy"
ACCOUNT = "gcp:serviceaccount/account:Account"
# v2 service names whose v1 permission prefix differs.
V1_SERVICE = {"cloudresourcemanager": "resourcemanager"}


@dataclass(frozen=True)
class Grant:
    member: str
    role: str
    scope: str
    """`project`, or `<kind>:<name>` (`serviceAccount:api@p.iam.gserviceaccount.com`)."""
    condition: str | None = None


@dataclass(frozen=True)
class Reached:
    permission: str
    scope: str
    condition: str | None
    identity: str
    """The member that uses the permission: the principal itself or an account it becomes."""
    path: tuple[str, ...]
    """How: each step a grant (`role on scope`) or a move (`acts as X`, `grants itself R`)."""


@dataclass
class IamModel:
    grants: list[Grant]
    accounts: set[str]
    """Every service account of the project, as `serviceAccount:<email>`."""
    custom_roles: dict[str, frozenset[str]] = field(default_factory=dict)
    denied: dict[str, frozenset[str]] = field(default_factory=dict)
    """Member to the v1 permissions deny policies refuse it."""

    def permissions(self, role: str) -> frozenset[str]:
        if role in self.custom_roles:
            return self.custom_roles[role]
        if role not in ROLES:
            raise KeyError(f"{role}: not in policy/iam_roles.py; read its permissions on Google's reference and add it")
        return ROLES[role].permissions


def v1_permission(v2: str) -> str:
    """`iam.googleapis.com/serviceAccounts.getAccessToken` -> `iam.serviceAccounts.getAccessToken`."""
    service, _, rest = v2.partition("/")
    name = service.removesuffix(".googleapis.com")
    return f"{V1_SERVICE.get(name, name)}.{rest}"


def _member_of_principal(principal: str) -> str:
    prefix = "principal://iam.googleapis.com/projects/-/serviceAccounts/"
    return f"serviceAccount:{principal.removeprefix(prefix)}" if principal.startswith(prefix) else principal


def model_from_graph(graph: Mapping[str, Any]) -> IamModel:
    nodes = [node for node in graph.get("resources") or [] if node.get("custom")]
    grants = []
    for node in nodes:
        if node["type"] not in SCOPES:
            continue
        inputs = node.get("inputs") or {}
        kind, key = SCOPES[node["type"]]
        scope = PROJECT if kind == PROJECT else f"{kind}:{str(inputs.get(key, '')).rsplit('/', 1)[-1]}"
        condition = (inputs.get("condition") or {}).get("expression")
        grants.append(Grant(str(inputs["member"]), str(inputs["role"]), scope, condition))
    custom = {}
    for node in nodes:
        if node["type"] == CUSTOM_ROLE:
            inputs = node["inputs"]
            role_name = f"projects/{inputs['project']}/roles/{inputs['roleId']}"
            custom[role_name] = frozenset(inputs.get("permissions") or ()) & ESCALATION_PERMISSIONS
    denied: dict[str, set[str]] = {}
    for node in nodes:
        if node["type"] != DENY_POLICY:
            continue
        for rule in node["inputs"].get("rules") or []:
            deny = rule.get("denyRule") or {}
            for principal in deny.get("deniedPrincipals") or []:
                denied.setdefault(_member_of_principal(principal), set()).update(
                    v1_permission(p) for p in deny.get("deniedPermissions") or []
                )
    accounts = {
        f"serviceAccount:{n['inputs']['accountId']}@{n['inputs']['project']}.iam.gserviceaccount.com"
        for n in nodes
        if n["type"] == ACCOUNT
    }
    return IamModel(grants, accounts, custom, {member: frozenset(perms) for member, perms in denied.items()})


def _grantable_roles(condition: str | None, model: IamModel) -> list[str]:
    """The roles a project `setIamPolicy` holder may grant itself under ``condition``."""
    if condition is None:
        return [ANY_ROLE]
    limit = GRANT_LIMIT.search(condition)
    if limit is None:
        # A condition this model does not read: judged as no condition, the strict choice.
        return [ANY_ROLE]
    return re.findall(r"'([^']+)'", limit.group(1))


def _targets(scope: str, model: IamModel) -> Iterable[str]:
    """The accounts an account-level permission at ``scope`` applies to."""
    if scope == PROJECT:
        return sorted(model.accounts)
    kind, _, name = scope.partition(":")
    return [f"serviceAccount:{name}"] if kind == "serviceAccount" else []


def reach(model: IamModel, principal: str) -> list[Reached]:
    """Every escalation-relevant permission ``principal`` can use, directly or through others."""
    found: dict[tuple[str, str, str | None, str], Reached] = {}
    became: dict[str, tuple[str, ...]] = {principal: ()}
    queue = [principal]

    def add(identity: str, permission: str, scope: str, condition: str | None, path: tuple[str, ...]) -> None:
        if permission in model.denied.get(identity, frozenset()):
            return
        key = (permission, scope, condition, identity)
        if key not in found:
            found[key] = Reached(permission, scope, condition, identity, path)

    def become(account: str, path: tuple[str, ...]) -> None:
        if account not in became:
            became[account] = path
            queue.append(account)

    while queue:
        identity = queue.pop(0)
        base = became[identity]
        for grant in (g for g in model.grants if g.member == identity):
            step = (*base, f"{grant.role} on {grant.scope}")
            for permission in model.permissions(grant.role):
                add(identity, permission, grant.scope, grant.condition, step)
        # Moves, repeated until nothing new: each may open another.
        changed = True
        while changed:
            changed = False
            for item in [r for r in found.values() if r.identity == identity]:
                before = (len(found), len(became))
                if item.permission == PROJECT_SET_IAM:
                    for role in _grantable_roles(item.condition, model):
                        step = (*item.path, f"grants itself {role}")
                        permissions = ESCALATION_PERMISSIONS if role == ANY_ROLE else model.permissions(role)
                        for permission in permissions:
                            add(identity, permission, PROJECT, None, step)
                elif item.permission == ACCOUNT_SET_IAM:
                    for target in _targets(item.scope, model):
                        for permission in IMPERSONATION:
                            add(identity, permission, target, None, (*item.path, "grants itself a token creator role"))
                elif item.permission in IMPERSONATION or item.permission == ACT_AS:
                    for target in _targets(item.scope, model):
                        if target != identity:
                            become(
                                target,
                                (*item.path, f"{'acts as' if item.permission == ACT_AS else 'impersonates'} {target}"),
                            )
                changed = changed or (len(found), len(became)) != before
    return sorted(found.values(), key=lambda r: (r.permission, r.scope, r.identity))
