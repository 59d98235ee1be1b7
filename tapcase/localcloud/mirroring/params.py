"""Parameters of the traffic-mirroring actions as data: what each is and how a bad value is refused.

A :class:`Param` names an API member, its :class:`Kind`, whether it is required, and its range or
choices; :func:`read` takes an action's parameters from a request in the table's order and gives
the values the control plane receives, or raises the EC2 error AWS answers:

- a required parameter left out (or empty): ``MissingParameter`` naming it (botocore checks this
  on the client; the Step Functions interpreter's clients do not, so the service must);
- an integer that is not one, or out of its range; a value not among its choices; a CIDR block
  that is not one; a port range whose ``FromPort`` exceeds its ``ToPort``: ``InvalidParameterValue``
  with AWS's wording ("Value (x) for parameter P is invalid. …").

What depends on other parameters or on the account's resources (a rule's IPv4 and IPv6 blocks
mixed, ports on a protocol other than TCP and UDP, unknown ids, quotas) is the control plane's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tapcase.localcloud.mirroring import errors, limits


class Kind(Enum):
    STRING = "string"
    INTEGER = "integer"  # within low..high
    CHOICE = "choice"  # one of choices
    CHOICE_LIST = "choice list"  # each item one of choices (named ``item`` in messages)
    CIDR = "CIDR block"
    PORT_RANGE = "port range"  # {"FromPort", "ToPort"}, each 0-65535, FromPort <= ToPort
    ID_LIST = "id list"
    TAGS = "tag specifications"
    FILTERS = "filters"  # Filter.N.Name / Filter.N.Value.M, read by moto's EC2 response


@dataclass(frozen=True)
class Param:
    """One request parameter of an action (``name`` as in the API and the query string)."""

    name: str
    kind: Kind = Kind.STRING
    required: bool = False
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    item: str = ""  # for CHOICE_LIST: the name a refused item goes by
    backend: bool = True  # False: read by the response itself (DryRun, MaxResults, NextToken)

    @property
    def keyword(self) -> str:
        """The backend method's keyword for this parameter (``RuleNumber`` -> ``rule_number``)."""
        return snake(self.name)


def snake(name: str) -> str:
    """``CreateTrafficMirrorFilterRule`` -> ``create_traffic_mirror_filter_rule``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --- constructors for the table -------------------------------------------------------------------
def string(name: str, *, required: bool = False) -> Param:
    return Param(name, Kind.STRING, required)


def integer(name: str, low: int, high: int, *, required: bool = False, backend: bool = True) -> Param:
    return Param(name, Kind.INTEGER, required, low, high, backend=backend)


def choice(name: str, choices: tuple[str, ...], *, required: bool = False) -> Param:
    return Param(name, Kind.CHOICE, required, choices=choices)


def choice_list(name: str, choices: tuple[str, ...], *, item: str) -> Param:
    return Param(name, Kind.CHOICE_LIST, choices=choices, item=item)


def cidr(name: str, *, required: bool = False) -> Param:
    return Param(name, Kind.CIDR, required)


def port_range(name: str) -> Param:
    return Param(name, Kind.PORT_RANGE, low=limits.PORT_MIN, high=limits.PORT_MAX)


def ids(name: str) -> Param:
    return Param(name, Kind.ID_LIST)


def tags() -> Param:
    return Param("TagSpecifications", Kind.TAGS)


def filters() -> Param:
    return Param("Filters", Kind.FILTERS)


def pages() -> tuple[Param, Param]:
    """``MaxResults`` and ``NextToken``: the response pages a describe's answer."""
    return (
        integer("MaxResults", limits.MAX_RESULTS_MIN, limits.MAX_RESULTS_MAX, backend=False),
        Param("NextToken", backend=False),
    )


# --- checks ------------------------------------------------------------------------------------------
def check_int(param: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise errors.invalid_value(param, value, "It must be an integer.") from None
    if not low <= number <= high:
        raise errors.invalid_value(param, number, f"It must be between {low} and {high}.")
    return number


def check_choice(param: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise errors.invalid_value(param, value, f"Valid values are: {', '.join(allowed)}.")
    return str(value)


def _cidr(param: Param, value: Any) -> str:
    try:
        ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise errors.invalid_value(param.name, value, "This is not a valid CIDR block.") from None
    return str(value)


def _port_range(param: Param, value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise errors.invalid_value(param.name, value)
    low, high = limits.PORT_MIN, limits.PORT_MAX
    from_port = check_int(f"{param.name}.FromPort", value.get("FromPort", low), low, high)
    to_port = check_int(f"{param.name}.ToPort", value.get("ToPort", high), low, high)
    if from_port > to_port:
        raise errors.invalid_value(param.name, f"{from_port}-{to_port}", "FromPort must not exceed ToPort.")
    return {"FromPort": from_port, "ToPort": to_port}


def _integer(param: Param, value: Any) -> int:
    assert param.low is not None and param.high is not None, param
    return check_int(param.name, value, param.low, param.high)


def _choice(param: Param, value: Any) -> str:
    return check_choice(param.name, value, param.choices)


def _choice_list(param: Param, value: Any) -> list[str]:
    return [check_choice(param.item, item, param.choices) for item in value]


_CHECKS: dict[Kind, Callable[[Param, Any], Any]] = {
    Kind.INTEGER: _integer,
    Kind.CHOICE: _choice,
    Kind.CHOICE_LIST: _choice_list,
    Kind.CIDR: _cidr,
    Kind.PORT_RANGE: _port_range,
}


def is_missing(value: Any) -> bool:
    return value is None or value == ""


def check(param: Param, value: Any) -> Any:
    """The value the control plane receives for ``param`` (None when left out), or the EC2 error."""
    if param.required and is_missing(value):
        raise errors.missing(param.name)
    if value is None:
        return None
    checker = _CHECKS.get(param.kind)
    return checker(param, value) if checker else value


def read(params: tuple[Param, ...], value_of: Callable[[Param], Any]) -> dict[str, Any]:
    """Every parameter's checked value by name: missing required ones first, then each value in order."""
    raw = {param.name: value_of(param) for param in params}
    for param in params:
        if param.required and is_missing(raw[param.name]):
            raise errors.missing(param.name)
    return {param.name: check(param, raw[param.name]) for param in params}


def integer_keys(params: tuple[Param, ...]) -> list[str]:
    """Query-string keys that carry integers (``RuleNumber``, ``DestinationPortRange.FromPort``)."""
    keys: list[str] = []
    for param in params:
        if param.kind is Kind.INTEGER:
            keys.append(param.name)
        elif param.kind is Kind.PORT_RANGE:
            keys += [f"{param.name}.FromPort", f"{param.name}.ToPort"]
    return keys
