"""The traffic-mirroring actions answered from the table: one response method per row, none by hand.

Each method (installed on moto's ``TrafficMirrors`` response class under the action's name, where
moto's ``call_action`` looks it up) does the same four things:

1. ``DryRun``: refused with ``DryRunOperation`` (HTTP 412), nothing done, as on AWS;
2. the row's parameters read and checked (:func:`tapcase.localcloud.mirroring.params.read`);
3. the backend method of the action's name called with them (:mod:`.filters`,
   :mod:`.filter_rules`, :mod:`.targets`, :mod:`.sessions`);
4. the answer built in the row's shape (describes paged with ``MaxResults``/``NextToken``).

moto 5.2.5 answers eight of the fifteen actions itself (without checks, pages or DryRun); the seven
it lacks are added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult

from tapcase.localcloud import patching
from tapcase.localcloud.mirroring import describe, params
from tapcase.localcloud.mirroring.actions import ACTIONS, Action, Shape
from tapcase.localcloud.patching import Patch

_RESPONSES = "moto.ec2.responses.traffic_mirrors:TrafficMirrors"
_BASE = "moto.core.responses:BaseResponse"
_EC2_BASE = "moto.ec2.responses._base_response:EC2BaseResponse"

#: The actions moto 5.2.5's TrafficMirrors answers itself, with the fingerprint of its method (the
#: other actions are added).
MOTO_ANSWERS: dict[str, str] = {
    "CreateTrafficMirrorFilter": "5c1f898de97c",
    "CreateTrafficMirrorTarget": "31ef26dda37d",
    "CreateTrafficMirrorSession": "3a12729bc460",
    "DescribeTrafficMirrorFilters": "d922ff5b3d4e",
    "DescribeTrafficMirrorTargets": "1a63e9f01909",
    "DescribeTrafficMirrorSessions": "653111fb68b5",
    "ModifyTrafficMirrorSession": "861d5584a5a4",
    "DeleteTrafficMirrorSession": "dfedc793278f",
}

#: What every response method relies on in moto (besides its own moto method, when moto has one).
_COMMON_WATCH = {
    f"{_BASE}.call_action": "26076963fd17",
    f"{_BASE}._get_param": "2125ae237500",
    f"{_EC2_BASE}.error_on_dryrun": "4f66688c133b",
    f"{_EC2_BASE}._filters_from_querystring": "d6063a1d48b7",
}


def _value(response: Any, param: params.Param) -> Any:
    if param.kind is params.Kind.FILTERS:
        return response._filters_from_querystring()
    return response._get_param(param.name)


def respond(response: Any, action: Action) -> ActionResult:
    """Answer ``action`` for moto's EC2 ``response`` (see the module docstring)."""
    response.error_on_dryrun()
    values = params.read(action.params, lambda param: _value(response, param))
    outcome = getattr(response.ec2_backend, action.method)(
        **{param.keyword: values[param.name] for param in action.params if param.backend}
    )
    if action.shape is Shape.CREATED:
        return ActionResult({action.key: outcome.to_dict(), "ClientToken": outcome.client_token})
    if action.shape is Shape.RESOURCE:
        return ActionResult({action.key: outcome.to_dict()})
    if action.shape is Shape.DELETED:
        return ActionResult({action.key: outcome})
    page, token = describe.paginate(outcome, values.get("MaxResults"), values.get("NextToken"))
    answer: dict[str, Any] = {action.key: [item.to_dict() for item in page]}
    if token:
        answer["NextToken"] = token
    return ActionResult(answer)


def response_method(action: Action) -> Callable[[Any], ActionResult]:
    """The response method moto calls for ``action``."""

    def method(self: Any) -> ActionResult:
        return respond(self, action)

    method.__name__ = action.method
    method.__qualname__ = f"TrafficMirrors.{action.method}"
    method.__doc__ = f"{action.name}, answered from its row of tapcase.localcloud.mirroring.actions."
    return method


def _record(action: Action) -> Patch:
    moto_has = action.name in MOTO_ANSWERS
    own = {f"{_RESPONSES}.{action.method}": MOTO_ANSWERS[action.name]} if moto_has else {}
    return Patch(
        target=f"{_RESPONSES}.{action.method}",
        fixes=f"{action.name} checks its parameters as AWS does, honours DryRun"
        + (", pages with MaxResults/NextToken" if action.shape is Shape.PAGE else "")
        + ("" if moto_has else " (moto lacks the action)"),
        relies_on="call_action dispatches an EC2 action to the response method of its snake_case name; "
        "_get_param gives parsed values; error_on_dryrun raises DryRunOperation",
        watch={**own, **_COMMON_WATCH},
        adds=not moto_has,
    )


#: One record per action, in the table's order.
PATCHES: tuple[Patch, ...] = tuple(_record(action) for action in ACTIONS.values())
#: The response method of each action, by moto's method name.
RESPONSE_METHODS: dict[str, Callable[[Any], ActionResult]] = {
    action.method: response_method(action) for action in ACTIONS.values()
}


def apply() -> None:
    for record, action in zip(PATCHES, ACTIONS.values(), strict=True):
        patching.install(record, RESPONSE_METHODS[action.method])
