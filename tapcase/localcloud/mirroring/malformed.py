"""A malformed parameter of a traffic-mirroring action is an EC2 error, never an HTTP 500.

moto's model-based parser turns ``RuleNumber=abc`` into ``int('abc')`` in ``setup_class``,
outside the action's error handling, so moto answers an HTML 500 page. AWS answers a 400
``InvalidParameterValue`` ("A value specified in a parameter is not valid"). Here the parse error
of a mirroring action is kept, and ``call_action`` answers it as moto answers an action's
``EC2ClientError``, naming the first integer parameter of the action's row (:mod:`.actions`) whose
value is not an integer.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult

from tapcase.localcloud import patching
from tapcase.localcloud.mirroring import errors
from tapcase.localcloud.mirroring.actions import ACTIONS
from tapcase.localcloud.mirroring.params import integer_keys
from tapcase.localcloud.patching import Patch

_RESPONSE = "moto.ec2.responses:EC2Response"
_BASE = "moto.core.responses:BaseResponse"

PARSE = Patch(
    target=f"{_RESPONSE}.parse_parameters",
    fixes="a traffic-mirroring parameter that does not parse (RuleNumber=abc) is kept for call_action, not a 500",
    relies_on="BaseResponse.parse_parameters(request) parses with botocore's model into self.params and raises "
    "ValueError/TypeError on a malformed integer; it runs in setup_class before call_action",
    watch={f"{_BASE}.parse_parameters": "fd3d04c91948", f"{_BASE}.setup_class": "0045fc77574a"},
)
CALL = Patch(
    target=f"{_RESPONSE}.call_action",
    fixes="the kept parse error is answered as a 400 InvalidParameterValue naming the parameter",
    relies_on="BaseResponse.call_action serializes an action's ServiceException with serialized(ActionResult(e)), "
    "_transform_response and _enrich_response",
    watch={
        f"{_BASE}.call_action": "26076963fd17",
        f"{_BASE}.serialized": "af486a0ef132",
        f"{_BASE}._transform_response": "8cd539c35ff2",
        f"{_BASE}._enrich_response": "86cd4a4051dd",
    },
)


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def offending(action: str, query: dict[str, list[str]], exc: Exception) -> str:
    """The message for a parse error of ``action``: the first integer parameter that is not one."""
    for key in integer_keys(ACTIONS[action].params):
        for value in query.get(key, []):
            if not _is_int(value):
                return errors.value_message(key, value, "It must be an integer.")
    return f"A parameter is malformed: {exc}"


def parse_parameters(self: Any, request: Any) -> None:
    self._tapcase_parse_error = None
    try:
        patching.ORIGINALS[PARSE.target](self, request)
    except (ValueError, TypeError) as exc:
        action = self._get_action()
        if action not in ACTIONS:
            raise
        self.params = {}
        self._tapcase_parse_error = offending(action, getattr(self, "querystring", {}), exc)


def call_action(self: Any) -> Any:
    message = getattr(self, "_tapcase_parse_error", None)
    if not message:
        return patching.ORIGINALS[CALL.target](self)
    self._tapcase_parse_error = None
    # Serialized as moto's call_action serializes an action's ServiceException.
    status, headers, body = self.serialized(ActionResult(errors.invalid(message)))
    headers["status"] = status
    status, headers, body = self._transform_response(self.response_headers, (body, headers))
    headers, body = self._enrich_response(headers, body)
    return status, headers, body


def apply() -> None:
    patching.install(PARSE, parse_parameters)
    patching.install(CALL, call_action)
