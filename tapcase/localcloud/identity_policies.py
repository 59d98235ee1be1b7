"""Identity-based policies evaluated as IAM evaluates them, for the local cloud's judges (S3
requests of tagged role sessions, :mod:`tapcase.localcloud.sts_sessions`; a role session's own
permission to assume a role, :mod:`tapcase.localcloud.sts_trust`).

A statement applies when one of its actions and one of its resources match (``*`` any characters,
``?`` one; policy variables such as ``${aws:PrincipalTag/key}`` replaced by the request's values, a
variable without a value matching nothing, ``${*}``, ``${?}``, ``${$}`` literal: "IAM policy
elements: Variables and tags") and its conditions hold (:mod:`tapcase.localcloud.policies`). An
explicit deny wins over any allow; without an allow the answer is an implicit deny ("Policy
evaluation logic").
"""

from __future__ import annotations

import re
from typing import Any

from tapcase.localcloud.policies import statement_applies

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def _substitute(pattern: str, context: dict[str, str]) -> str | None:
    """``pattern`` with its policy variables replaced (None: a variable has no value)."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in _SPECIAL:
            return "\0" + _SPECIAL[name]  # a literal character, not a wildcard
        if name in context:
            return context[name]
        missing = True
        return ""

    text = _VARIABLE.sub(value, pattern)
    return None if missing else text


def _matches(pattern: str, value: str, context: dict[str, str]) -> bool:
    """IAM's ARN/action matching: ``*`` any characters, ``?`` one, case-sensitive for resources."""
    text = _substitute(pattern, context)
    if text is None:
        return False
    regex = ""
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\0":
            regex += re.escape(text[i + 1])
            i += 2
            continue
        regex += ".*" if char == "*" else "." if char == "?" else re.escape(char)
        i += 1
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _statement_matches(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    actions = _listed(statement.get("Action"))
    if not any(_matches(a.lower(), action.lower(), context) for a in actions):
        return False
    if not any(_matches(r, resource, context) for r in _listed(statement.get("Resource"))):
        return False
    return statement_applies(statement, context)


def decide(documents: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool | None:
    """What identity-based ``documents`` say of ``action`` on ``resource``: True (allowed), False
    (explicitly denied: a deny wins), None (not allowed: an implicit deny)."""
    statements = [st for doc in documents for st in _listed_statements(doc)]
    if any(st.get("Effect") == "Deny" and _statement_matches(st, action, resource, context) for st in statements):
        return False
    if any(st.get("Effect") == "Allow" and _statement_matches(st, action, resource, context) for st in statements):
        return True
    return None


def evaluate(documents: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether identity-based ``documents`` allow ``action`` on ``resource`` (an explicit deny wins)."""
    return decide(documents, action, resource, context) is True


def _listed_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statement = document.get("Statement", [])
    return [statement] if isinstance(statement, dict) else list(statement)


def role_documents(role_arn: str) -> list[dict[str, Any]]:
    """A role's identity-based policies: its inline policies and attached managed policies' default
    versions (none: a role that no longer exists)."""
    import json
    from urllib.parse import unquote

    from moto.iam.models import iam_backends

    backend = iam_backends[role_arn.split(":")[4]]["global"]
    try:
        role = backend.get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - moto's NotFoundException: deleted since
        return []
    documents = []
    for text in role.policies.values():
        documents.append(json.loads(unquote(text) if isinstance(text, str) else json.dumps(text)))
    for policy in role.managed_policies.values():
        version = next(v for v in policy.versions if v.is_default)
        documents.append(json.loads(unquote(version.document)))
    return documents
