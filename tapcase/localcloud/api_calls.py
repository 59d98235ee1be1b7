"""Every AWS API request the local cloud answers, counted by caller, service and action.

A WSGI middleware (:class:`ApiCallCounter`, the outermost layer of the local cloud's app) looks at
each request as AWS would bill or throttle it:

- **service**: the SigV4 credential scope of the ``Authorization`` header (or of a presigned URL's
  ``X-Amz-Credential``): ``…/<date>/<region>/<service>/aws4_request``;
- **action**: the ``X-Amz-Target`` header of JSON protocols (``AWSStepFunctions.StartExecution``
  → ``StartExecution``), the ``Action`` parameter of query protocols (EC2, IAM, SNS: in the query
  string or the form body), Lambda's REST paths (``POST …/functions/<name>/invocations`` →
  ``Invoke``), and S3's REST operations by method, key and sub-resource (``PutObject``,
  ``GetObject``, ``ListObjectsV2``, ``CreateMultipartUpload``, ``UploadPart``…);
- **caller**: who made it, from a marker in the ``User-Agent``: ``states`` (the state machine's
  service integrations, :mod:`tapcase.localcloud.sfn.clients`), ``lambda`` (the functions, run
  with ``AWS_SDK_UA_APP_ID=tapcase-lambda``), ``sensor`` (the local sensors' agents), ``cli``
  (``tapcase local investigate``) and ``other``.

``GET /_tapcase/api-calls`` answers the counts as JSON (``DELETE`` resets them); in-process,
:func:`snapshot` and :func:`reset`. tapcase's own ``/_tapcase/`` routes and moto's ``/moto-api``
are not AWS requests and are not counted.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

#: User-Agent markers of the callers (``user_agent_extra`` or ``AWS_SDK_UA_APP_ID``).
CALLER_MARKERS = (
    ("tapcase-caller/states", "states"),
    ("tapcase-caller/sensor", "sensor"),
    ("tapcase-caller/cli", "cli"),
    ("app/tapcase-lambda", "lambda"),
)
ROUTE = "/_tapcase/api-calls"

_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/aws4_request")
_PRESIGNED = re.compile(r"X-Amz-Credential=[^&]*?(?:%2F|/)\d{8}(?:%2F|/)[a-z0-9-]+(?:%2F|/)([a-z0-9-]+)(?:%2F|/)")
_LAMBDA_INVOKE = re.compile(r"^/\d{4}-\d{2}-\d{2}/functions/[^/]+/invocations$")
_FORM = "application/x-www-form-urlencoded"

_lock = threading.Lock()
_counts: Counter[tuple[str, str, str]] = Counter()


def reset() -> None:
    with _lock:
        _counts.clear()


def snapshot() -> list[dict[str, Any]]:
    """``[{"caller", "service", "action", "count"}]``, sorted."""
    with _lock:
        items = sorted(_counts.items())
    return [{"caller": c, "service": s, "action": a, "count": n} for (c, s, a), n in items]


def record(caller: str, service: str, action: str) -> None:
    with _lock:
        _counts[(caller, service, action)] += 1


def caller_of(environ: dict[str, Any]) -> str:
    agent = environ.get("HTTP_USER_AGENT", "")
    for marker, caller in CALLER_MARKERS:
        if marker in agent:
            return caller
    return "other"


def service_of(environ: dict[str, Any]) -> str:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        match = _PRESIGNED.search(environ.get("QUERY_STRING", ""))
    return match.group(1) if match else "unknown"


def _s3_action(method: str, path: str, query: dict[str, list[str]]) -> str:
    has_key = "/" in path.strip("/")
    if not has_key:  # bucket-level
        if method == "GET":
            if "list-type" in query:
                return "ListObjectsV2"
            return "ListObjects" if path.strip("/") else "ListBuckets"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(method, f"{method} bucket")
    if method == "PUT":
        if "partNumber" in query:
            return "UploadPart"
        return "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        return "PostObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    return {"GET": "GetObject", "HEAD": "HeadObject"}.get(method, f"{method} object")


def action_of(environ: dict[str, Any], service: str) -> str:
    """The API action of a request; may read (and put back) a form-encoded body."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "Action" in query:
        return query["Action"][0]
    if service == "s3":
        return _s3_action(method, path, query)
    if service == "lambda" and _LAMBDA_INVOKE.match(path):
        return "Invoke"
    if method == "POST" and environ.get("CONTENT_TYPE", "").startswith(_FORM):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return f"{method} {path}"


class ApiCallCounter:
    """WSGI middleware counting the AWS API requests (see the module docstring)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == ROUTE:
            if environ.get("REQUEST_METHOD") == "DELETE":
                reset()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"calls": snapshot()}).encode()]
        if not path.startswith(("/_tapcase/", "/moto-api")):
            service = service_of(environ)
            record(caller_of(environ), service, action_of(environ, service))
        return self.app(environ, start_response)
