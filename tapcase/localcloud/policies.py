"""Resource policies (bucket policies) evaluated the way IAM evaluates a statement's conditions.

moto 5.2.5 evaluates an S3 bucket policy on object requests, but treats a statement whose
conditions are not met as an explicit deny (whatever its effect), and counts a condition whose
key the request does not carry, or whose operator it does not know, as met. So a standard
``Deny ... "Bool": {"aws:SecureTransport": "false"}`` statement denies every request, TLS or
not. IAM: a statement applies only when all its conditions are true; "If the key that you specify
in a policy condition is not present in the request context, the values do not match and the
condition is false. If the policy condition requires that the key is not matched, such as
StringNotLike or ArnNotLike, and the right key is not present, the condition is true" (IAM user
guide, condition operators), except ``...IfExists`` (true when the key is absent) and ``Null``.

The local cloud supplies no request context keys (no TLS, no signed principals), so statements
conditioned on such keys do not apply locally; what the template's policies allow and deny is
checked statically (``tests/test_iam.py``).
"""

from __future__ import annotations

import fnmatch
import threading
from typing import Any

from tapcase.localcloud.patching import Patch, install

STATEMENT = Patch(
    target="moto.iam.access_control:IAMPolicyStatement.is_action_permitted",
    fixes="a policy statement whose conditions are not met does not apply (NEUTRAL); conditions follow IAM's "
    "rules for absent keys and the operators tapcase's policies use",
    relies_on="IAMPolicyStatement holds the statement in _statement; S3 object requests ask "
    "FakeBucket.get_permission(action, resource) -> IAMPolicy.is_action_permitted, DENIED wins",
    watch={
        "moto.iam.access_control:IAMPolicyStatement.is_action_permitted": "e3e502fdb033",
        "moto.iam.access_control:IAMPolicyStatement._check_conditions": "b4c3c794df66",
        "moto.s3.models:FakeBucket.get_permission": "7571412a3495",
    },
)

_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
            "NotIpAddress", "NumericNotEquals", "DateNotEquals")
_lock = threading.Lock()
_applied = False


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _compare(operator: str, expected: list[str], actual: str) -> bool | None:
    """One present key against the policy's values; None for an operator not handled here."""
    base = operator.removesuffix("IfExists")
    negated = base in _NEGATED
    base = base.replace("Not", "", 1) if negated else base
    if base in ("StringEquals", "ArnEquals"):
        hit = actual in expected
    elif base == "StringEqualsIgnoreCase":
        hit = actual.lower() in {e.lower() for e in expected}
    elif base in ("StringLike", "ArnLike"):
        hit = any(fnmatch.fnmatchcase(actual, e) for e in expected)
    elif base == "Bool":
        hit = actual.lower() in {e.lower() for e in expected}
    else:
        return None
    return not hit if negated else hit


def condition_met(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    """Whether one condition (``operator``: ``{key: expected}``) holds in a request context."""
    wanted = _values(expected)
    if operator == "Null":
        return (key not in context) == (wanted[0].lower() == "true")
    if key not in context:
        return operator.endswith("IfExists") or operator.removesuffix("IfExists") in _NEGATED
    result = _compare(operator, wanted, context[key])
    return bool(result)  # an operator not handled here never matches a present key


def statement_applies(statement: dict[str, Any], context: dict[str, str]) -> bool:
    return all(
        condition_met(operator, key, expected, context)
        for operator, keys in (statement.get("Condition") or {}).items()
        for key, expected in keys.items()
    )


def apply() -> None:
    global _applied
    with _lock:
        if _applied:
            return
        from moto.iam.access_control import PermissionResult

        def is_action_permitted(
            self: Any, action: str, resource: str = "*", principal: str | None = None,
            incoming_condition_values: dict[str, str] | None = None,
        ) -> Any:
            statement = self._statement
            element = "NotAction" if "NotAction" in statement else "Action"
            concerned = self._check_element_matches(element, action) != (element == "NotAction")
            if not concerned or self.is_unknown_principal(statement.get("Principal")):
                return PermissionResult.NEUTRAL
            if principal and not self._check_principal(principal):
                return PermissionResult.NEUTRAL
            if not statement_applies(statement, dict(incoming_condition_values or {})):
                return PermissionResult.NEUTRAL
            if statement.get("Resource") and not self._check_element_matches("Resource", resource):
                return PermissionResult.NEUTRAL
            return PermissionResult.PERMITTED if statement["Effect"] == "Allow" else PermissionResult.DENIED

        install(STATEMENT, is_action_permitted)
        _applied = True
