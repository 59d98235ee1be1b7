"""AssumeRole refused as AWS refuses it: a role that does not exist, or whose trust policy does not
trust the caller (``403 AccessDenied``: "User: <caller> is not authorized to perform:
sts:AssumeRole on resource: <role>").

moto 5.2.5 lets anyone assume any role ARN, existing or not, in any account ("the role does not
need to exist"), which would let a state machine act in an account that never deployed tapcase's
member role. Here a role must exist in its account's IAM, and one statement of its trust policy
must allow ``sts:AssumeRole`` (or ``sts:*``) to the caller with its conditions met (the request's
``sts:ExternalId``; IAM's rules for absent keys, :mod:`tapcase.localcloud.policies`), no statement
denying it.

The caller: a role session (its key was made by AssumeRole) is that role, matched by the role's
ARN, its account's root or its account id. Any other key of the local cloud stands for a principal
of its account whose identity is not modelled (the local Lambda functions and the interpreter sign
with the account's default keys): it matches a trust principal of that account (the root, the
account id, any role of it) and nothing of another account. So a role in account B trusting roles
of account A can be assumed from A and not from C, and a missing role from nowhere.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from tapcase.localcloud.policies import statement_applies

ACTIONS = ("sts:assumerole", "sts:*", "*")


class Caller:
    """Who signed the AssumeRole request."""

    def __init__(self, account_id: str, role_arn: str | None) -> None:
        self.account_id = account_id
        self.role_arn = role_arn

    @property
    def arn(self) -> str:
        return self.role_arn or f"arn:aws:iam::{self.account_id}:root"

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

    account = get_account_id_from(access_key)
    key = iam_backends[account]["global"].access_keys.get(access_key)
    return Caller(account, getattr(key, "role_arn", None) if key is not None else None)


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


def trusts(document: dict[str, Any], caller: Caller, context: dict[str, str]) -> bool:
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    if any(s.get("Effect") == "Deny" and _applies(s, caller, context) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and _applies(s, caller, context) for s in statements)


def check(role_arn: str, access_key: str, external_id: str | None, tags: dict[str, str] | None = None) -> None:
    """Raise STS's ``AccessDenied`` unless the caller may assume ``role_arn`` (``tags``: the
    session tags asked for, the trust policy's ``aws:RequestTag/<key>`` values)."""
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
    context = {f"aws:RequestTag/{k}": v for k, v in (tags or {}).items()}
    if external_id:
        context["sts:ExternalId"] = external_id
    if role is not None:
        text = role.assume_role_policy_document
        document = json.loads(unquote(text)) if isinstance(text, str) else dict(text)
        if trusts(document, caller, context):
            return
    raise STSClientError("AccessDenied", f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on "
                         f"resource: {role_arn}")
