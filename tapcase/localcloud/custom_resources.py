"""CloudFormation's side of custom resources (``Custom::<name>``, ``AWS::CloudFormation::CustomResource``)
for the local deployer, as the CloudFormation user guide describes it ("Custom resources", "Custom
resource request types", "Custom resource response objects", AWS::CloudFormation::CustomResource):

* CloudFormation invokes the ``ServiceToken`` Lambda function asynchronously with a request:
  ``RequestType`` (Create, Update, Delete), ``RequestId``, ``ResponseURL``, ``ResourceType``,
  ``LogicalResourceId``, ``StackId``, ``ResourceProperties`` (the resource's properties, the
  service token included), plus ``PhysicalResourceId`` on Update and Delete and
  ``OldResourceProperties`` on Update.
* The function answers with one PUT of a JSON response object to ``ResponseURL`` (on AWS a
  presigned S3 URL; here an HTTP listener on 127.0.0.1 made for the request). ``Status`` SUCCESS
  or FAILED; ``Reason`` required when FAILED; ``PhysicalResourceId`` a non-empty string;
  ``StackId``, ``RequestId`` and ``LogicalResourceId`` as in the request; the body at most 4096
  bytes. ``Data`` values are the resource's ``Fn::GetAtt`` attributes.
* Anything else fails the resource: FAILED (its reason), an invalid or oversized response, or no
  response within ``ServiceTimeout`` (1-3600 s, default 3600). Locally, a function that has
  returned without answering is not waited for the whole timeout: nothing can answer any more,
  and the outcome is the same failure.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: "The total size of the response body can't exceed 4096 bytes" (Custom resource response objects).
MAX_RESPONSE_BYTES = 4096
DEFAULT_SERVICE_TIMEOUT = 3600
#: Seconds a response may still arrive after the function returned (it may answer from a thread).
GRACE_SECONDS = 2.0


class CustomResourceFailed(RuntimeError):
    """The custom resource's operation failed (CloudFormation's CREATE_FAILED/UPDATE_FAILED/DELETE_FAILED)."""


def is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


class _Inbox:
    """One request's ResponseURL: an HTTP listener that keeps the first PUT body it receives."""

    def __init__(self) -> None:
        self.path = f"/{uuid.uuid4().hex}"
        self.body: bytes | None = None
        self.arrived = threading.Event()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path != inbox.path:
                    self.send_response(403)  # a presigned URL signs its path
                elif not inbox.arrived.is_set():
                    inbox.body = body
                    inbox.arrived.set()
                    self.send_response(200)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       name="tapcase-cfn-response", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def __enter__(self) -> _Inbox:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _verb(request_type: str) -> str:
    return {"Create": "CREATE_FAILED", "Update": "UPDATE_FAILED", "Delete": "DELETE_FAILED"}[request_type]


def _check(response: bytes, request: dict[str, Any], where: str) -> dict[str, Any]:
    failed = f"{where} {_verb(request['RequestType'])}"
    if len(response) > MAX_RESPONSE_BYTES:
        raise CustomResourceFailed(f"{failed}: Response object is too long ({len(response)} bytes, at most "
                                   f"{MAX_RESPONSE_BYTES}).")
    try:
        answer = json.loads(response)
    except ValueError:
        raise CustomResourceFailed(f"{failed}: Invalid response object: not JSON") from None
    if not isinstance(answer, dict) or answer.get("Status") not in ("SUCCESS", "FAILED"):
        raise CustomResourceFailed(f"{failed}: Invalid response object: Status must be SUCCESS or FAILED")
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        if answer.get(key) != request[key]:
            raise CustomResourceFailed(f"{failed}: Invalid response object: {key} does not match the request")
    if not isinstance(answer.get("PhysicalResourceId"), str) or not answer["PhysicalResourceId"]:
        raise CustomResourceFailed(f"{failed}: Invalid response object: PhysicalResourceId must be a non-empty string")
    if answer["Status"] == "FAILED":
        raise CustomResourceFailed(f"{failed}: {answer.get('Reason') or 'the custom resource failed without a reason'}")
    return answer


def send_request(
    lambda_client: Any, *, stack_id: str, logical_id: str, resource_type: str, properties: dict[str, Any],
    request_type: str, physical_id: str | None = None, old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send one request to the resource's ``ServiceToken`` function and return its SUCCESS response;
    :class:`CustomResourceFailed` otherwise."""
    token = properties.get("ServiceToken")
    if not token or ":lambda:" not in str(token):
        raise CustomResourceFailed(f"{logical_id}: ServiceToken must be a Lambda function ARN locally, not {token!r}")
    timeout = int(properties.get("ServiceTimeout", DEFAULT_SERVICE_TIMEOUT))
    if not 1 <= timeout <= 3600:
        raise CustomResourceFailed(f"{logical_id}: ServiceTimeout must be an integer from 1 to 3600, not {timeout}")
    with _Inbox() as inbox:
        request: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": token,
            "ResponseURL": inbox.url,
            "StackId": stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": properties,
        }
        if physical_id is not None:
            request["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            request["OldResourceProperties"] = old_properties
        done = threading.Event()

        def invoke() -> None:
            try:  # asynchronous, as CloudFormation invokes it: only the PUT to ResponseURL counts
                lambda_client.invoke(FunctionName=token, InvocationType="Event", Payload=json.dumps(request).encode())
            finally:
                done.set()

        threading.Thread(target=invoke, name=f"tapcase-cfn-{logical_id}", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not inbox.arrived.is_set():
            remaining = deadline - time.monotonic()
            if done.is_set():
                remaining = min(remaining, GRACE_SECONDS)
            if remaining <= 0 or (done.is_set() and not inbox.arrived.wait(remaining)):
                raise CustomResourceFailed(
                    f"{logical_id} {_verb(request_type)}: CloudFormation did not receive a response from your "
                    f"Custom Resource (ServiceTimeout {timeout} s)")
            inbox.arrived.wait(min(0.05, max(remaining, 0)))
        assert inbox.body is not None
        return _check(inbox.body, request, logical_id)
