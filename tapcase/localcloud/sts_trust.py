"""AssumeRole refused as AWS refuses it: a role that does not exist, or whose trust policy does not
trust the caller (``403 AccessDenied``: "User: <caller> is not authorized to perform:
sts:AssumeRole on resource: <role>", the caller named by its session's ARN,
``arn:aws:sts::<account>:assumed-role/<role name>/<session name>``).

moto 5.2.5 lets anyone assume any role ARN, existing or not, in any account ("the role does not
need to exist"), which would let a state machine act in an account that never deployed tapcase's
member role. Here a role must exist in its account's IAM, and one statement of its trust policy
must allow ``sts:AssumeRole`` (or ``sts:*``) to the caller with its conditions met (the request's
``sts:ExternalId``, its session tags ``aws:RequestTag/<key>``, the caller's ``aws:PrincipalArn``;
IAM's rules for absent keys, :mod:`tapcase.localcloud.policies`), no statement denying it.

The caller: a role session (its key was made by AssumeRole: the local Lambda functions run with a
session of their execution role, the interpreter's tasks with one of the state machine's role,
:mod:`tapcase.localcloud.service_sessions`) is that role: it matches a trust principal naming the
role's ARN, its account's root or its account id, and its ``aws:PrincipalArn`` is the role's ARN,
path included ("IAM role – The request context contains ... the ARN of the role", not the session's:
IAM global condition context keys, ``aws:PrincipalArn``). Any other key of the local cloud (a test's
or the CLI's client) stands for a principal of its account whose identity is not modelled: it
matches a trust principal of that account (the root, the account id, any role of it) and nothing of
another account, and has no ``aws:PrincipalArn`` (a condition on it is false). So a role in account
B trusting a path of account A's roles can be assumed by those roles and by nothing else, and a
missing role from nowhere.

The caller's own permission: a role session must also be allowed ``sts:AssumeRole`` on the role by
its role's identity-based policies (IAM user guide, "Policy evaluation logic": role trust policies
are an exception to "either policy suffices" within an account, and "Cross-account policy
evaluation logic": across accounts both the identity-based and the resource-based policy must
allow), unless the trust policy names that role itself and both are in one account; an explicit
deny in its policies refuses it always. moto evaluated neither. A caller with no role identity
(the local cloud's default keys) is not judged by identity policies (it has none modelled).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from tapcase.localcloud.policies import statement_applies

ACTIONS = ("sts:assumerole", "sts:*", "*")


class Caller:
    """Who signed the AssumeRole request (``session_arn``: a role session's own ARN)."""

    def __init__(self, account_id: str, role_arn: str | None, session_arn: str | None = None) -> None:
        self.account_id = account_id
        self.role_arn = role_arn
        self.session_arn = session_arn

    @property
    def arn(self) -> str:
        return self.session_arn or self.role_arn or f"arn:aws:iam::{self.account_id}:root"

    def context(self) -> dict[str, str]:
        """The request context keys this caller brings (``aws:PrincipalArn``: the role's ARN)."""
        return {"aws:PrincipalArn": self.role_arn} if self.role_arn else {}

    def named_by(self, principal: str) -> bool:
        """Whether a trust principal names this caller's role (or session) itself, not its account."""
        return principal in {p for p in (self.role_arn, self.session_arn) if p}

    def matches(self, principal: str) -> bool:
        """Whether a trust policy's ``Principal.AWS`` value names this caller."""
        if principal == "*":
            return True
        account = principal if principal.isdigit() else principal.split(":")[4] if principal.count(":") >= 5 else ""
        if account != self.account_id:
            return False
        if principal.isdigit() or principal.endswith(":root"):
            return True  # the account trusts its principals (their own policies decide)
        return self.role_arn is None or principal == self.role_arn


def caller_of(access_key: str) -> Caller:
    from moto.iam.models import get_account_id_from, iam_backends
    from moto.sts.models import sts_backends

    account = get_account_id_from(access_key)
    key = iam_backends[account]["global"].access_keys.get(access_key)
    role_arn = getattr(key, "role_arn", None) if key is not None else None
    if role_arn is None:
        return Caller(account, None)
    partition = role_arn.split(":")[1] or "aws"
    session = sts_backends[account][partition].get_assumed_role_from_access_key(access_key)
    return Caller(account, role_arn, session.arn if session is not None else None)


def _aws_principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    values = (principal or {}).get("AWS", []) if isinstance(principal, dict) else []
    return [values] if isinstance(values, str) else [str(v) for v in values]


def _applies(statement: dict[str, Any], caller: Caller, context: dict[str, str]) -> bool:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return (any(a.lower() in ACTIONS for a in actions)
            and any(caller.matches(p) for p in _aws_principals(statement))
            and statement_applies(statement, context))


def trust_grant(document: dict[str, Any], caller: Caller, context: dict[str, str]) -> str | None:
    """How the trust policy lets ``caller`` in: ``"role"`` (a statement names its role), ``"account"``
    (its account or everyone: its own policies must allow it too), or None (not trusted)."""
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    if any(s.get("Effect") == "Deny" and _applies(s, caller, context) for s in statements):
        return None
    granting = [s for s in statements if s.get("Effect") == "Allow" and _applies(s, caller, context)]
    if not granting:
        return None
    named = any(caller.named_by(p) for s in granting for p in _aws_principals(s))
    return "role" if named else "account"


def trusts(document: dict[str, Any], caller: Caller, context: dict[str, str]) -> bool:
    return trust_grant(document, caller, context) is not None


def identity_allows(caller: Caller, role_arn: str, context: dict[str, str]) -> bool | None:
    """The caller role's identity-based policies on ``sts:AssumeRole`` of ``role_arn``: True (allowed),
    False (explicitly denied), None (not allowed)."""
    from tapcase.localcloud.identity_policies import decide, role_documents

    assert caller.role_arn is not None
    return decide(role_documents(caller.role_arn), "sts:AssumeRole", role_arn, context)


def check(role_arn: str, access_key: str, external_id: str | None, tags: dict[str, str] | None = None) -> Caller:
    """Raise STS's ``AccessDenied`` unless the caller may assume ``role_arn`` (``tags``: the
    session tags asked for, the trust policy's ``aws:RequestTag/<key>`` values); the caller."""
    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSClientError

    caller = caller_of(access_key)
    parts = role_arn.split(":")
    role = None
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        try:
            role = iam_backends[parts[4]]["global"].get_role_by_arn(role_arn)
        except Exception:  # noqa: BLE001 - moto's NotFoundException: no such role
            role = None
    context = {**caller.context(), **{f"aws:RequestTag/{k}": v for k, v in (tags or {}).items()}}
    if external_id:
        context["sts:ExternalId"] = external_id
    if role is not None:
        text = role.assume_role_policy_document
        document = json.loads(unquote(text)) if isinstance(text, str) else dict(text)
        grant = trust_grant(document, caller, context)
        if grant is not None and caller.role_arn is None:
            return caller  # no identity modelled: nothing more to judge
        if grant is not None:
            own = identity_allows(caller, role_arn, context)
            same_account = caller.account_id == parts[4]
            if own is True or (own is None and grant == "role" and same_account):
                return caller
    raise STSClientError("AccessDenied", f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on "
                         f"resource: {role_arn}")
