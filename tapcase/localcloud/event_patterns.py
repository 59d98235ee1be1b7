"""EventBridge event patterns: refused and matched as EventBridge does, where moto differs.

moto 5.2.5 checks only that a pattern's values are non-empty arrays or objects, so a pattern AWS
refuses (``InvalidEventPatternException``) is stored and then matched loosely: a numeric match on
a string threshold (``{"numeric": [">=", "7"]}``, what a CloudFormation parameter substituted into
a pattern object gives) raises a Python ``TypeError`` while matching instead of being refused at
``PutRule``. Here every pattern is checked at ``PutRule`` and ``TestEventPattern`` against the rules
of EventBridge's matcher (aws/event-ruler ``JsonRuleCompiler``, whose messages AWS returns as the
reason), and the matcher:

- numeric matching applies to JSON numbers only (``true`` is not 1);
- ``$or`` is an operator only with an array of two or more alternatives (event-ruler treats it as
  a field name otherwise).
"""

from __future__ import annotations

from typing import Any

NUMERIC_OPERATORS = ("<", "<=", "=", ">=", ">")
MATCH_TYPES = ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr")


class PatternError(ValueError):
    """Why EventBridge refuses a pattern (the ``Reason:`` of ``InvalidEventPatternException``)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_or(key: str, value: Any) -> bool:
    """Whether ``key: value`` is the ``$or`` operator (else ``$or`` is a field name)."""
    return key == "$or" and isinstance(value, list) and len(value) >= 2 and all(isinstance(v, dict) for v in value)


def _check_numeric(value: Any) -> None:
    if not isinstance(value, list):
        raise PatternError("Value of numeric must be an array.")
    if len(value) not in (2, 4):
        raise PatternError("Too many elements in numeric expression" if len(value) > 4 else
                           "Invalid member in numeric match: " + str(value))
    for index in range(0, len(value), 2):
        operator, number = value[index], value[index + 1]
        if operator not in NUMERIC_OPERATORS:
            raise PatternError(f"Unrecognized numeric range operator: {operator}")
        if not _is_number(number):
            raise PatternError(f"Value of {operator} must be numeric")
    if len(value) == 4:
        if value[0] not in (">", ">=") or value[2] not in ("<", "<="):
            raise PatternError(f"Bad numeric range operator: {value[2]}")


def _check_string_or_ignore_case(name: str, value: Any) -> None:
    if isinstance(value, dict) and set(value) == {"equals-ignore-case"} and isinstance(value["equals-ignore-case"], str):
        return
    if not isinstance(value, str):
        raise PatternError(f"{name} match pattern must be a string")
    if not value and name in ("prefix", "suffix"):
        raise PatternError(f"Null {name} not allowed")


def _check_anything_but(value: Any) -> None:
    if isinstance(value, dict):
        if len(value) != 1:
            raise PatternError("Only one key allowed in match expression")
        (operator, operand), = value.items()
        if operator in ("prefix", "suffix", "wildcard"):
            if not isinstance(operand, str):
                raise PatternError("prefix/suffix match pattern must be a string")
            if not operand:
                raise PatternError("Null prefix/suffix not allowed")
            return
        if operator == "equals-ignore-case":
            if isinstance(operand, str) or (isinstance(operand, list) and operand and all(isinstance(v, str) for v in operand)):
                return
            raise PatternError("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
        raise PatternError(f"Unsupported anything-but pattern: {operator}")
    if isinstance(value, list):
        strings = all(isinstance(v, str) for v in value)
        numbers = all(_is_number(v) for v in value)
        if not value or not (strings or numbers):
            if any(not isinstance(v, str) and not _is_number(v) for v in value):
                raise PatternError("Inside anything but list, start|null|boolean is not supported.")
            raise PatternError("Inside anything but list, either all values are number or string, "
                               "mixed type is not supported")
        return
    if not isinstance(value, str) and not _is_number(value):
        raise PatternError("Value of anything-but must be an array or single string/number value.")


def _check_match(match: dict[str, Any]) -> None:
    if len(match) != 1:
        raise PatternError("Only one key allowed in match expression")
    (name, value), = match.items()
    if name not in MATCH_TYPES:
        raise PatternError(f"Unrecognized match type {name}")
    if name == "numeric":
        _check_numeric(value)
    elif name == "anything-but":
        _check_anything_but(value)
    elif name == "exists":
        if not isinstance(value, bool):
            raise PatternError("exists match pattern must be either true or false.")
    elif name == "cidr":
        if not isinstance(value, str):
            raise PatternError("prefix match pattern must be a string")
    else:
        _check_string_or_ignore_case(name, value)


def check_pattern(pattern: Any) -> None:
    """Raise :class:`PatternError` where EventBridge refuses ``pattern`` (a parsed JSON object)."""
    if not isinstance(pattern, dict):
        raise PatternError("Filter is not an object")
    for key, value in pattern.items():
        if is_or(key, value):
            for alternative in value:
                check_pattern(alternative)
        elif isinstance(value, dict):
            check_pattern(value)
        elif isinstance(value, list):
            if not value:
                raise PatternError("Empty arrays are not allowed")
            for item in value:
                if isinstance(item, dict):
                    _check_match(item)
                elif isinstance(item, list):
                    raise PatternError(f"Match value must be String, number, true, false, or null: {key}")
        else:
            raise PatternError(f"\"{key}\" must be an object or an array")
