"""StopExecution: the execution is ABORTED at once, whatever it is waiting for, as on AWS.

AWS: "StopExecution aborts an execution at once, even while it waits on a task token, and no Catch
runs" -- ``DescribeExecution`` answers ``ABORTED`` (with the ``error`` and ``cause`` given to
StopExecution, keys left out when none were given) and the history ends with
``ExecutionAborted``; cleanup must come from outside (Step Functions API reference, StopExecution;
developer guide, error handling). moto 5.2.5 only flagged the interpreter: an execution waiting
on a task token (``WaitForSensor``, ``CollectEvidence``) stayed RUNNING until the token was
answered, then could run a Catch or end FAILED, and StopExecution's error and cause were dropped.

Here StopExecution sets ABORTED, the stop date, error and cause, records ``ExecutionAborted``
and seals the history; it closes every task token of the execution (later answers get
``TaskTimedOut``, :mod:`.callbacks`) and wakes every wait. Whatever the interpreter still
unwinds afterwards records nothing and cannot change the status.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from tapcase.localcloud import events
from tapcase.localcloud.patching import Patch, install
from tapcase.localcloud.sfn import callbacks

_ENV = "moto.stepfunctions.parser.asl.eval.environment:Environment"

STOP_RESPONSE = Patch(
    target="moto.stepfunctions.responses:StepFunctionResponse.stop_execution",
    fixes="StopExecution passes its error and cause on (DescribeExecution, ExecutionAborted)",
    relies_on="moto's handler reads executionArn and calls backend.stop_execution(arn), which "
    "validates it and calls execution.stop(stop_date=, error='', cause='')",
    watch={
        "moto.stepfunctions.responses:StepFunctionResponse.stop_execution": "633c8a544aac",
        "moto.stepfunctions.models:StepFunctionBackend.stop_execution": "9fd7ff1aebca",
    },
)
STOP = Patch(
    target="moto.stepfunctions.parser.backend.execution:Execution.stop",
    fixes="a stopped execution is ABORTED at once, even while a task waits for its token",
    relies_on="Execution.stop -> ExecutionWorker.stop -> env.set_stop(ProgramStopped), which only "
    "prunes states not yet evaluated; the status is set when the worker thread terminates",
    watch={
        "moto.stepfunctions.parser.backend.execution:Execution.stop": "16663c65db9a",
        f"{_ENV}.set_stop": "163c10d46b1c",
    },
)
FINAL_ERROR = Patch(
    target=f"{_ENV}.set_error",
    fixes="an aborted execution never turns FAILED while the interpreter unwinds",
    relies_on="Program._eval_body calls env.set_error for an error reaching the top, whatever "
    "the program state",
    watch={f"{_ENV}.set_error": "6447409d4056"},
)
FINAL_TIMEOUT = Patch(
    target=f"{_ENV}.set_timed_out",
    fixes="an aborted execution never turns TIMED_OUT while the interpreter unwinds",
    relies_on="Program.eval calls env.set_timed_out when its thread outlives TimeoutSeconds",
    watch={f"{_ENV}.set_timed_out": "853b04bf9e6a"},
)
SEALED_HISTORY = Patch(
    target="moto.stepfunctions.parser.asl.eval.event.event_manager:EventManager.add_event",
    fixes="nothing follows ExecutionAborted in the history",
    relies_on="every history event of an execution goes through its EventManager.add_event",
    watch={"moto.stepfunctions.parser.asl.eval.event.event_manager:EventManager.add_event": "cb430fa2e3fe"},
)

_SEALED_ATTR = "_tapcase_sealed"
# The execution worker builds its Environment in its own thread, just after StartExecution.
_ENV_READY_SECONDS = 5.0


def _environment(execution: Any) -> Any:
    give_up = time.monotonic() + _ENV_READY_SECONDS
    while getattr(execution.exec_worker, "env", None) is None:
        if time.monotonic() > give_up:
            raise RuntimeError(f"{execution.exec_arn}: the execution never started")
        time.sleep(0.005)
    return execution.exec_worker.env


def abort(self: Any, stop_date: datetime.datetime, error: str | None = None, cause: str | None = None) -> None:
    """``Execution.stop``: ABORTED now, history sealed after ExecutionAborted, tokens closed."""
    from moto.stepfunctions.parser.api import (
        ExecutionAbortedEventDetails,
        ExecutionStatus,
        HistoryEventType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    with callbacks.LOCK:
        if self.exec_status != ExecutionStatus.RUNNING:
            return
        env = _environment(self)
        error, cause = error or None, cause or None
        env.set_stop(stop_date=stop_date, cause=cause, error=error)
        if not isinstance(env.program_state(), ProgramStopped):
            return  # the execution ended on its own just before: its own status stands
        self.exec_status = ExecutionStatus.ABORTED
        self.stop_date = stop_date
        self.error, self.cause = error, cause
        details = ExecutionAbortedEventDetails()
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        env.event_history_context.source_event_id = 0
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.ExecutionAborted,
            event_details=EventDetails(executionAbortedEventDetails=details),  # type: ignore[typeddict-item]
        )
        setattr(env.event_manager, _SEALED_ATTR, True)
        callbacks.close_all(env)
    events.execution_status_changed(self)  # ABORTED: what the janitor's rule listens for


def stop_execution_response(self: Any) -> Any:
    """moto's ``StepFunctionResponse.stop_execution`` with StopExecution's error and cause."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    arn = self._get_param("executionArn")
    backend = self.stepfunction_backend
    if not isinstance(backend, StepFunctionsParserBackend):  # moto's own model: as moto does
        return ActionResult({"stopDate": backend.stop_execution(arn).stop_date})
    execution = backend.describe_execution(arn)  # validates the ARN, ExecutionDoesNotExist
    stop_date = datetime.datetime.now(tz=datetime.UTC)
    execution.stop(stop_date=stop_date, error=self._get_param("error"), cause=self._get_param("cause"))
    return ActionResult({"stopDate": execution.stop_date or stop_date})


def apply() -> None:
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    original_set_error = Environment.set_error
    original_set_timed_out = Environment.set_timed_out
    original_add_event = EventManager.add_event

    def set_error(self: Any, error: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return
        original_set_error(self, error)

    def set_timed_out(self: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return
        original_set_timed_out(self)

    def add_event(self: Any, *args: Any, **kwargs: Any) -> int:
        if getattr(self, _SEALED_ATTR, False):
            return int(self._event_id_gen._next_id - 1)
        return int(original_add_event(self, *args, **kwargs))

    install(STOP_RESPONSE, stop_execution_response)
    install(STOP, abort)
    install(FINAL_ERROR, set_error)
    install(FINAL_TIMEOUT, set_timed_out)
    install(SEALED_HISTORY, add_event)
