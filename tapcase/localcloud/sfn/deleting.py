"""DeleteStateMachine while executions run, as AWS does it (Step Functions API reference,
DeleteStateMachine: "It sets the state machine's status to DELETING and begins the deletion process.
A state machine is deleted only when all its executions are completed. On the next state
transition, the state machine's executions are terminated"; AWS re:Post knowledge center "Step
Functions state machine stuck in DELETING": such executions fail with ``States.Runtime``, cause
"State machine <name> has been deleted.", and an execution waiting in a Wait state or on a task
keeps the state machine DELETING until its next transition).

moto removed the state machine at once, with its executions, while their threads ran on. Here:
a state machine with RUNNING executions is kept as ``DELETING`` (DescribeStateMachine says so;
StartExecution answers ``StateMachineDeleting``, "The specified state machine is being deleted.");
each of its executions fails with ``States.Runtime`` when it next enters a state (no Catch: a
runtime error of the service, not of a state); once none runs, the state machine is gone
(``StateMachineDoesNotExist``, its executions with it, as moto removes them). Without RUNNING
executions it is deleted at once, as before.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from moto.stepfunctions.exceptions import AWSError

from tapcase.localcloud.patching import Patch, install

_MODELS = "moto.stepfunctions.models:StepFunctionBackend"
_STATE = "moto.stepfunctions.parser.asl.component.state.state:CommonStateField._eval_body"

DELETE = Patch(
    target=f"{_MODELS}.delete_state_machine",
    fixes="DeleteStateMachine keeps a state machine with RUNNING executions as DELETING until they end",
    relies_on="moto's delete_state_machine validates the ARN and removes the machine from "
    "backend.state_machines (its executions live on the machine: sm.executions)",
    watch={f"{_MODELS}.delete_state_machine": "3181befe1f47"},
)
DESCRIBE_RESPONSE = Patch(
    target="moto.stepfunctions.responses:StepFunctionResponse._describe_state_machine",
    fixes="DescribeStateMachine answers status DELETING for a state machine being deleted, and "
    "StateMachineDoesNotExist once none of its executions runs",
    relies_on="moto's response always says status ACTIVE and builds the answer from the backend's machine",
    watch={"moto.stepfunctions.responses:StepFunctionResponse._describe_state_machine": "44f4c687f927"},
)
TRANSITION = Patch(
    target=_STATE,
    fixes="an execution of a DELETING state machine fails with States.Runtime at its next state transition",
    relies_on="every state's evaluation starts in CommonStateField._eval_body (StateEntered first); a "
    "FailureEventException raised there ends the program with ExecutionFailed",
    watch={_STATE: "035f80caae12"},
)

#: ARN -> the state machine being deleted (weak: a reset backend forgets it).
_deleting: dict[str, weakref.ReferenceType[Any]] = {}
_lock = threading.Lock()


class StateMachineDeleting(AWSError):
    TYPE = "StateMachineDeleting"
    STATUS = 400


def is_deleting(arn: str) -> bool:
    with _lock:
        ref = _deleting.get(arn)
        return ref is not None and ref() is not None


def refuse_start(state_machine: Any) -> None:
    """StartExecution on a DELETING state machine: ``StateMachineDeleting`` (still DELETING while an
    execution runs; once none does, the machine is gone: StateMachineDoesNotExist)."""
    from moto.stepfunctions.exceptions import StateMachineDoesNotExist

    finish(state_machine.backend, state_machine.arn)
    if state_machine not in state_machine.backend.state_machines:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{state_machine.arn}'")
    if is_deleting(state_machine.arn):
        raise StateMachineDeleting("The specified state machine is being deleted.")


def _running(state_machine: Any) -> bool:
    return any(getattr(e, "status", None) == "RUNNING" for e in state_machine.executions)


def delete_state_machine(self: Any, arn: str) -> None:
    """``StepFunctionBackend.delete_state_machine``: at once without RUNNING executions, else DELETING."""
    self._validate_machine_arn(arn)
    sm = next((x for x in self.state_machines if x.arn == arn), None)
    if sm is None:
        return
    if _running(sm):
        with _lock:
            _deleting[arn] = weakref.ref(sm)
        return
    self.state_machines.remove(sm)


def finish(backend: Any, arn: str) -> None:
    """A DELETING state machine none of whose executions runs any more is gone (with them)."""
    if not is_deleting(arn):
        return
    sm = next((x for x in backend.state_machines if x.arn == arn), None)
    if sm is None or not _running(sm):
        if sm is not None:
            backend.state_machines.remove(sm)
        with _lock:
            _deleting.pop(arn, None)


def make_describe_response(original: Any) -> Any:
    def _describe_state_machine(self: Any, state_machine_arn: str) -> Any:
        finish(self.stepfunction_backend, state_machine_arn)
        result = original(self, state_machine_arn)
        if is_deleting(state_machine_arn):
            result.result["status"] = "DELETING"
        return result

    return _describe_state_machine


def _deleted_failure(env: Any, name: str) -> Exception:
    """The execution's failure: ``States.Runtime``, "State machine <name> has been deleted." (as
    AWS words it: moto would prefix a runtime error's cause with the state's name and event id)."""
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    details = ExecutionFailedEventDetails(error=StatesErrorNameType.StatesRuntime.to_name(),
                                          cause=f"State machine {name} has been deleted.")

    class StateMachineDeleted(FailureEventException):
        def get_execution_failed_event_details(self) -> Any:
            return details

    return StateMachineDeleted(FailureEvent(
        env=env, error_name=StatesErrorName(typ=StatesErrorNameType.StatesRuntime),
        event_type=HistoryEventType.ExecutionFailed,
        event_details=EventDetails(executionFailedEventDetails=details)))  # type: ignore[typeddict-item]


def make_transition(original: Any) -> Any:
    def _eval_body(self: Any, env: Any) -> None:
        machine = env.states.context_object.context_object_data["StateMachine"]
        if is_deleting(machine["Id"]):
            raise _deleted_failure(env, machine["Name"])
        original(self, env)

    return _eval_body


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.responses import StepFunctionResponse

    install(DELETE, delete_state_machine)
    install(DESCRIBE_RESPONSE, make_describe_response(StepFunctionResponse._describe_state_machine))
    install(TRANSITION, make_transition(CommonStateField._eval_body))
