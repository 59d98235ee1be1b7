"""The stack's lifecycle resources (pure): what they answer CloudFormation.

Two custom resources have CloudFormation call the stack's own functions when the stack is created,
updated or deleted (CloudFormation user guide, "Custom resources" and "Custom resource request
types"): ``CoverageLifecycle`` (the Coverage function: reconcile on Create/Update, remove every
coverage session and filter on Delete) and ``JanitorLifecycle`` (the Janitor: on Delete, stop every
running investigation and tear down what it made). The rules and schedules that trigger those
functions or start investigations depend on them, so they are deleted first ("Resource A is
deleted before resource B", DependsOn attribute) and nothing starts again after the Delete.

The answer is the documented response object, PUT to the request's ``ResponseURL``
("Custom resource response objects"): ``Status`` SUCCESS or FAILED, ``Reason`` (required when
FAILED), ``PhysicalResourceId`` (non-empty and identical for every response about the resource:
another value on Update would be a replacement, which CloudFormation follows with a Delete of the
old one), ``StackId``/``RequestId``/``LogicalResourceId`` copied from the request, optional
``Data``; the whole body at most 4096 bytes.
"""

from __future__ import annotations

import json
from typing import Any, Literal

#: "The total size of the response body can't exceed 4096 bytes" (Custom resource response objects).
MAX_RESPONSE_BYTES = 4096
#: The one physical id of the resource (never changes, so an Update is never a replacement).
PHYSICAL_ID_PREFIX = "tapcase"


def physical_id(request: Any) -> str:
    """The request's own id on Update/Delete; on Create, one derived from the logical id."""
    return str(getattr(request, "physical_resource_id", "") or f"{PHYSICAL_ID_PREFIX}-{request.logical_resource_id}")


def response(request: Any, status: Literal["SUCCESS", "FAILED"], *, reason: str = "",
             data: dict[str, str] | None = None) -> bytes:
    """The response body for ``request``, cut to fit: the reason is shortened first, then ``Data``
    is dropped (a FAILED response always keeps a reason)."""
    body: dict[str, Any] = {
        "Status": status,
        "Reason": reason or ("" if status == "SUCCESS" else "failed without a reason"),
        "PhysicalResourceId": physical_id(request),
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "NoEcho": False,
        "Data": dict(data or {}),
    }
    encoded = json.dumps(body).encode()
    if len(encoded) > MAX_RESPONSE_BYTES:
        body["Data"] = {}
        over = len(json.dumps(body).encode()) - MAX_RESPONSE_BYTES
        if over > 0:
            keep = max(len(body["Reason"].encode()) - over - 3, 1)
            body["Reason"] = body["Reason"].encode()[:keep].decode(errors="ignore") + "..."
        encoded = json.dumps(body).encode()
    return encoded
