"""Task tokens: answering a ``.waitForTaskToken`` task as AWS lets its callers do.

- ``SendTaskFailure`` passes ``cause`` on (moto 5.2.5 dropped it).
- ``SendTaskSuccess`` with an ``output`` that is not JSON is refused with ``InvalidOutput`` ("The
  provided JSON output data is not valid", SendTaskSuccess API reference); moto accepted it and
  the execution then died on it.
- A token whose task has ended -- answered already, timed out, or its execution ended (stopped,
  failed, timed out) -- answers ``TaskTimedOut`` to SendTaskSuccess, SendTaskFailure and
  SendTaskHeartbeat ("The task token has either expired or the task associated with the token
  has already been closed"; recorded from AWS as ``Task Timed Out: 'Provided task does not exist
  anymore'``, for a late answer and for a second answer alike). A token no task was ever given
  answers ``InvalidToken``. moto accepted a second answer, and answered ``InvalidToken`` or OK
  for a token of an execution that had ended.

A task is closed when its wait ends for any reason: moto's ``CallbackEndpoint.interrupt_all``,
called when a callback task finishes, marks it; :mod:`.deadlines` and :mod:`.executions` call it
when a task times out or its execution is stopped.
"""

from __future__ import annotations

import functools
import json
import threading
from types import SimpleNamespace
from typing import Any

from tapcase.localcloud.patching import Patch, install

_MODELS = "moto.stepfunctions.parser.models:StepFunctionsParserBackend"
_CALLBACK = "moto.stepfunctions.parser.asl.eval.callback.callback"

#: Message AWS gives with ``TaskTimedOut`` for a token whose task has ended.
TASK_GONE_MESSAGE = "Task Timed Out: 'Provided task does not exist anymore'"

SEND_TASK_FAILURE_RESPONSE = Patch(
    target="moto.stepfunctions.responses:StepFunctionResponse.send_task_failure",
    fixes="SendTaskFailure keeps its cause (TaskFailed event, Catch output, DescribeExecution)",
    relies_on="the parser backend's send_task_failure(task_token, error=, cause=) takes the cause; "
    "moto's response handler only passed error",
    watch={"moto.stepfunctions.responses:StepFunctionResponse.send_task_failure": "f0fed5e80576"},
)
SEND_TASK_SUCCESS = Patch(
    target=f"{_MODELS}.send_task_success",
    fixes="SendTaskSuccess refuses non-JSON output (InvalidOutput) and tokens of ended tasks (TaskTimedOut)",
    relies_on="tokens live in each execution's env.callback_pool_manager (never removed); "
    "CallbackEndpoint.notify(CallbackOutcomeSuccess) wakes the waiting task",
    watch={
        f"{_MODELS}.send_task_success": "2e95c66f0d67",
        f"{_CALLBACK}:CallbackPoolManager.get": "4fa131560cc9",
        f"{_CALLBACK}:CallbackEndpoint.notify": "8a2febb9b274",
    },
)
SEND_TASK_FAILURE = Patch(
    target=f"{_MODELS}.send_task_failure",
    fixes="SendTaskFailure answers TaskTimedOut for a token whose task has ended",
    relies_on="CallbackEndpoint.notify(CallbackOutcomeFailure(error, cause)) fails the waiting task",
    watch={f"{_MODELS}.send_task_failure": "2d5a9597cf1d"},
)
SEND_TASK_HEARTBEAT = Patch(
    target=f"{_MODELS}.send_task_heartbeat",
    fixes="SendTaskHeartbeat answers TaskTimedOut for a token whose task has ended",
    relies_on="CallbackEndpoint.notify_heartbeat() restarts the HeartbeatSeconds wait",
    watch={f"{_MODELS}.send_task_heartbeat": "279ad79cd7a2", f"{_CALLBACK}:CallbackEndpoint.notify_heartbeat": "838bf10119e4"},
)
TASK_CLOSED = Patch(
    target=f"{_CALLBACK}:CallbackEndpoint.interrupt_all",
    fixes="a callback task's token is closed once its wait ends (success, failure, timeout, stop)",
    relies_on="the callback task calls callback_endpoint.interrupt_all() in a finally once its "
    "outcome is collected",
    watch={
        f"{_CALLBACK}:CallbackEndpoint.interrupt_all": "d5b1c5de4a0b",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback"
        ":StateTaskServiceCallback._eval_integration_pattern": "3b97ada1d4cb",
    },
)

#: Serialises answers to tokens with the closing of tasks (an answer is accepted once).
LOCK = threading.RLock()
_CLOSED_ATTR = "_tapcase_closed"


@functools.cache
def errors() -> SimpleNamespace:
    """AWS's errors of the callback API, as moto's responses answer them (with their code)."""
    from moto.stepfunctions.exceptions import AWSError, InvalidToken

    class TaskTimedOut(AWSError):
        TYPE = "TaskTimedOut"
        STATUS = 400

    class InvalidOutput(AWSError):
        TYPE = "InvalidOutput"
        STATUS = 400

    return SimpleNamespace(TaskTimedOut=TaskTimedOut, InvalidOutput=InvalidOutput, InvalidToken=InvalidToken)


def close(endpoint: Any) -> None:
    """Ends a callback task's wait: its token is closed and its waiting threads wake."""
    endpoint.interrupt_all()


def close_task_of(env: Any) -> None:
    """Closes the token of the task ``env`` is running, if it has one (a timed-out task)."""
    token = env.states.context_object.context_object_data.get("Task", {}).get("Token")
    endpoint = env.callback_pool_manager.get(token) if token else None
    if endpoint is not None:
        close(endpoint)


def close_all(env: Any) -> None:
    """Closes every callback task of an execution (it was stopped)."""
    for endpoint in list(env.callback_pool_manager._pool.values()):
        close(endpoint)


def _open_task(backend: Any, task_token: str) -> Any:
    """The callback endpoint of a task still waiting for ``task_token``, else AWS's error."""
    from moto.stepfunctions.parser.api import ExecutionStatus

    for execution in backend._get_executions():
        env = getattr(execution.exec_worker, "env", None)
        endpoint = env.callback_pool_manager.get(task_token) if env is not None else None
        if endpoint is None:
            continue
        if (
            execution.exec_status != ExecutionStatus.RUNNING
            or getattr(endpoint, _CLOSED_ATTR, False)
            or endpoint.get_outcome() is not None
        ):
            raise errors().TaskTimedOut(TASK_GONE_MESSAGE)
        return endpoint
    raise errors().InvalidToken("Invalid token")


def send_task_success(self: Any, task_token: str, outcome: str) -> None:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeSuccess

    try:
        json.loads(outcome)
    except (TypeError, ValueError) as exc:
        raise errors().InvalidOutput(f"The provided JSON output data is not valid: {exc}") from exc
    with LOCK:
        _open_task(self, task_token).notify(CallbackOutcomeSuccess(callback_id=task_token, output=outcome))


def send_task_failure(self: Any, task_token: str, error: str | None = None, cause: str | None = None) -> None:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeFailure

    with LOCK:
        _open_task(self, task_token).notify(CallbackOutcomeFailure(callback_id=task_token, error=error, cause=cause))


def send_task_heartbeat(self: Any, task_token: str) -> None:
    with LOCK:
        _open_task(self, task_token).notify_heartbeat()


def send_task_failure_response(self: Any) -> Any:
    """moto's ``StepFunctionResponse.send_task_failure`` with the cause passed on."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    task_token = self._get_param("taskToken")
    error = self._get_param("error")
    cause = self._get_param("cause")
    backend = self.stepfunction_backend
    if isinstance(backend, StepFunctionsParserBackend):
        backend.send_task_failure(task_token, error=error, cause=cause)
    else:  # moto's own model (interpreter off) has no cause to keep
        backend.send_task_failure(task_token, error=error)
    return EmptyResult()


def apply() -> None:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    original_interrupt_all = CallbackEndpoint.interrupt_all

    def interrupt_all(self: Any) -> None:
        with LOCK:
            setattr(self, _CLOSED_ATTR, True)
        original_interrupt_all(self)

    install(SEND_TASK_FAILURE_RESPONSE, send_task_failure_response)
    install(SEND_TASK_SUCCESS, send_task_success)
    install(SEND_TASK_FAILURE, send_task_failure)
    install(SEND_TASK_HEARTBEAT, send_task_heartbeat)
    install(TASK_CLOSED, interrupt_all)
