"""Lambda ``Invoke`` runs the project's real handler in this process.

moto without Docker echoes the payload back and never runs code. Here, an invoke of a function
deployed in the local cloud imports the function's ``Handler`` (``package.module.attribute``,
from the one code package under ``functions/``), calls it with the event and a context object
powertools accepts, and answers like AWS:

- success: status 200, the JSON-encoded return value;
- an unhandled exception: status 200 with ``X-Amz-Function-Error: Unhandled`` and the payload
  ``{"errorMessage", "errorType", "stackTrace"}``, so that a state machine's Catch on the
  exception's class name matches, as on AWS;
- an unknown function: ``ResourceNotFoundException`` (moto's own lookup).

The function's configured environment variables are seen by its call only (the calling thread's
overlay, :mod:`tapcase.localcloud.thread_env`; the process's environment is never changed), and so
are the keys of its execution role's session (:mod:`tapcase.localcloud.service_sessions`): its calls
are its role's, as on AWS.
Invocations are serialised by a lock (``contextlib.redirect_stdout`` and module state are
process-wide).

What a function prints (its powertools JSON logs, its EMF metrics) goes where AWS sends it: to its
log, never into a caller's stdout. Locally that is this process's stderr, or a file or nowhere
(:func:`send_function_output_to`: the CLI keeps the functions' logs out of the user's terminal
unless asked).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

_invoke_lock = threading.RLock()
_applied = False


class _FunctionOutput:
    """The functions' stdout: this process's stderr (default), a log file, or nowhere. Loggers
    created while a function runs keep this object, so a later redirection reaches them too."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.discard = False
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if self.discard:
            return len(text)
        if self.path is not None:
            with self._lock, open(self.path, "a", encoding="utf-8") as fh:
                return fh.write(text)
        return sys.stderr.write(text)

    def flush(self) -> None:
        if not self.discard and self.path is None:
            sys.stderr.flush()

    def isatty(self) -> bool:
        return False


_OUTPUT = _FunctionOutput()


def send_function_output_to(path: str | os.PathLike[str] | None, *, discard: bool | None = None) -> None:
    """Where the functions' output goes from now on: a file (appended), nowhere (``path`` None), or
    back to stderr (``send_function_output_to(None, discard=False)``)."""
    _OUTPUT.path = os.fspath(path) if path is not None else None
    _OUTPUT.discard = path is None if discard is None else discard


class HandlerNotFound(RuntimeError):
    """A deployed function's Handler does not name an importable callable."""


@dataclass
class LocalLambdaContext:
    """The attributes of AWS's LambdaContext that powertools and handlers read."""

    function_name: str
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""
    memory_limit_in_mb: int = 128
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    timeout_seconds: int = 3
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def resolve_handler(handler: str) -> Any:
    module_name, _, attr = handler.rpartition(".")
    if not module_name or not attr:
        raise HandlerNotFound(f"Handler {handler!r} is not of the form module.function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerNotFound(f"Handler {handler!r}: cannot import {module_name}: {exc}") from exc
    func = getattr(module, attr, None)
    if not callable(func):
        raise HandlerNotFound(f"Handler {handler!r}: {module_name} has no callable {attr!r}")
    return func


def handler_importable(handler: str) -> None:
    """Check that a Handler names a module that exists, without importing it (importing runs
    module-level code, e.g. a logger reading its level, outside the function's environment)."""
    import importlib.util

    module_name, _, attr = handler.rpartition(".")
    if not module_name or not attr:
        raise HandlerNotFound(f"Handler {handler!r} is not of the form module.function")
    try:
        spec = importlib.util.find_spec(module_name)
    except ModuleNotFoundError as exc:
        raise HandlerNotFound(f"Handler {handler!r}: cannot find {module_name}: {exc}") from exc
    if spec is None:
        raise HandlerNotFound(f"Handler {handler!r}: no module {module_name}")


def _error_payload(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def run_function(fn: Any, event: Any) -> tuple[bytes, bool]:
    """Run a moto ``LambdaFunction``'s handler in-process. Returns (payload, errored)."""
    env = dict(fn.environment_vars or {})
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "_HANDLER": fn.handler,
            # the functions' SDK calls are marked as theirs (tapcase.localcloud.api_calls)
            "AWS_SDK_UA_APP_ID": "tapcase-lambda",
        }
    )
    context = LocalLambdaContext(
        function_name=fn.function_name,
        invoked_function_arn=fn.function_arn,
        memory_limit_in_mb=int(fn.memory_size or 128),
        timeout_seconds=int(fn.timeout or 3),
    )
    # The function acts as its execution role, as Lambda runs it: a session of the role, its keys in
    # the function's environment (Lambda's reserved AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    # AWS_SESSION_TOKEN), the session named after the function.
    role = getattr(fn, "role", None)
    if role:
        from tapcase.localcloud import service_sessions

        env.update(service_sessions.session_of(str(role), fn.function_name).environment())
    from tapcase.localcloud import local_work, thread_env

    with local_work.computing("lambda"), _invoke_lock, thread_env.overlay({k: str(v) for k, v in env.items()}):
        # What a function prints goes to its logs on AWS, never into a caller's stdout.
        with contextlib.redirect_stdout(_OUTPUT):
            try:
                func = resolve_handler(fn.handler)
                result = func(event, context)
            except Exception as exc:  # noqa: BLE001 - reported to the caller like AWS does
                return json.dumps(_error_payload(exc)).encode(), True
            return json.dumps(result, default=str).encode(), False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        fn = self.get_function(function_name, qualifier)
        if isinstance(body, (bytes, bytearray)):
            body = body.decode()
        event = json.loads(body) if body else {}
        if (headers.get("X-Amz-Invocation-Type") or headers.get("x-amz-invocation-type")) == "DryRun":
            return b""
        payload, errored = run_function(fn, event)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["Content-Length"] = str(len(payload))
        return payload

    LambdaBackend.invoke = invoke  # type: ignore[method-assign]
    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    _applied = True
