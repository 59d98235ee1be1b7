"""The EC2 errors of traffic mirroring: one constructor per AWS error code.

Each is moto's ``EC2ClientError`` (an HTTP 400 with ``<Errors><Error><Code>``, as EC2 answers).
Codes come from the EC2 API error-code reference and terraform-provider-aws, which matches them
against real responses; where AWS documents no code for a refusal, the caller says UNCONFIRMED.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError, InvalidInputError, MissingParameterError

_NOT_FOUND = {
    "filter": ("InvalidTrafficMirrorFilterId.NotFound", "Traffic Mirror filter"),
    "rule": ("InvalidTrafficMirrorFilterRuleId.NotFound", "Traffic Mirror filter rule"),
    "session": ("InvalidTrafficMirrorSessionId.NotFound", "Traffic Mirror session"),
    "target": ("InvalidTrafficMirrorTargetId.NotFound", "Traffic Mirror target"),
}


def not_found(kind: str, resource_id: Any) -> EC2ClientError:
    """``InvalidTrafficMirror{Filter,FilterRule,Session,Target}Id.NotFound``."""
    code, name = _NOT_FOUND[kind]
    return EC2ClientError(code, f"The {name} ID '{resource_id}' does not exist.")


def invalid(message: str) -> EC2ClientError:
    """``InvalidParameterValue``: "A value specified in a parameter is not valid"."""
    return EC2ClientError("InvalidParameterValue", message)


def value_message(param: str, value: Any, why: str = "") -> str:
    """AWS's wording for a bad value: "Value (x) for parameter P is invalid. <why>"."""
    return f"Value ({value}) for parameter {param} is invalid." + (f" {why}" if why else "")


def invalid_value(param: str, value: Any, why: str = "") -> EC2ClientError:
    """``InvalidParameterValue`` naming the parameter and its value."""
    return invalid(value_message(param, value, why))


def missing(param: str) -> EC2ClientError:
    """``MissingParameter``: "The request must contain the parameter …"."""
    return MissingParameterError(param)


def combination(message: str) -> EC2ClientError:
    """``InvalidParameterCombination``."""
    return EC2ClientError("InvalidParameterCombination", message)


def invalid_input(message: str) -> EC2ClientError:
    """``InvalidInput`` (kept from moto for a target with other than one destination; UNCONFIRMED)."""
    return InvalidInputError(message)


def refused(code: str, message: str) -> EC2ClientError:
    """A refusal with its own code: quotas (``…LimitExceeded``), resources in use, rule slots."""
    return EC2ClientError(code, message)


def idempotent_mismatch() -> EC2ClientError:
    """``IdempotentParameterMismatch``: a ClientToken reused with other parameters."""
    return EC2ClientError(
        "IdempotentParameterMismatch",
        "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
    )


def invalid_next_token(token: str) -> EC2ClientError:
    """``InvalidNextToken``."""
    return EC2ClientError("InvalidNextToken", f"The token '{token}' is invalid.")
