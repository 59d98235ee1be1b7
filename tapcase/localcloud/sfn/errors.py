"""Error names as AWS matches them in Retry and Catch.

- ``States.Runtime`` is neither retried nor caught, even by ``States.ALL``: "A States.Runtime
  error isn't retriable, and will always cause the execution to fail. A retry or catch on
  States.ALL won't catch States.Runtime errors." (Step Functions developer guide, error handling).
- A Parallel branch, Map iteration or callback failing with a ``States.*`` error
  (``States.Timeout`` of a callback, ``States.TaskFailed``…) fails its state with that error,
  catchable by the state's Catch. moto 5.2.5 re-wraps such names in ``CustomErrorName``, whose
  constructor refuses the ``States.`` prefix with a ValueError: the whole execution crashed.
- A heartbeat timeout is matched by ``States.HeartbeatTimeout`` in Retry and Catch ("A Task state
  failed to send a heartbeat for a period longer than the HeartbeatSeconds value.
  HeartbeatTimeout is available inside the Catch and Retry fields", developer guide, error
  names), and still by ``States.Timeout``, which covers both timeouts; a ``TimeoutSeconds``
  timeout is not matched by ``States.HeartbeatTimeout``. The error reported stays
  ``States.Timeout``, in the ``TaskTimedOut`` event and the execution's error, as AWS records it
  (execution history recorded from AWS: LocalStack's ``test_heartbeats.snapshot.json``, 2024).
  moto reported the same ``States.Timeout`` but no Catch on ``States.HeartbeatTimeout`` matched.
- A task whose ``Credentials`` role the execution role cannot assume fails with
  ``States.Permissions`` ("A Task state failed because it had insufficient privileges to run the
  specified code", developer guide, error names; the cause: STS's AccessDenied message). No AWS page
  names the error of this particular case; locally it was the task's service error
  (``Ec2.Ec2Exception``), which the definition's Retry on service errors retried, as if STS's
  refusal were an EC2 fault.
"""

from __future__ import annotations

from typing import Any

from tapcase.localcloud.patching import Patch, install
from tapcase.localcloud.sfn.clients import TaskRoleNotAssumed

_ERROR_NAME = "moto.stepfunctions.parser.asl.component.common.error_name"

STATES_RUNTIME = Patch(
    target=f"{_ERROR_NAME}.error_equals_decl:ErrorEqualsDecl._eval_body",
    fixes="States.Runtime is neither retried nor caught, even by States.ALL; States.HeartbeatTimeout "
    "matches heartbeat timeouts",
    relies_on="Retry and Catch match an error by ErrorEqualsDecl._eval_body popping the error name "
    "from env.stack and pushing a bool",
    watch={f"{_ERROR_NAME}.error_equals_decl:ErrorEqualsDecl._eval_body": "aeda14a0cc01"},
)
HEARTBEAT_TIMEOUT = Patch(
    target="moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task:StateTask._from_error",
    fixes="a heartbeat timeout is caught by States.HeartbeatTimeout (and States.Timeout), as on AWS; a task "
    "whose Credentials role cannot be assumed fails with States.Permissions",
    relies_on="a heartbeat timeout raises HeartbeatTimeoutError (a TimeoutError), which every task's "
    "_from_error hands to StateTask._from_error for a States.Timeout TaskTimedOut event",
    watch={
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task:StateTask._from_error": "8f7051977d26",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback"
        ":StateTaskServiceCallback._eval_integration_pattern": "3b97ada1d4cb",
    },
)
BRANCH_ERRORS = Patch(
    target=f"{_ERROR_NAME}.custom_error_name:CustomErrorName.__new__",
    fixes="States.* errors out of Parallel branches, Map iterations and callbacks stay catchable",
    relies_on="moto re-wraps a failed branch's error name with CustomErrorName(error_name=…), "
    "whose __init__ raises ValueError for a States. prefix",
    watch={f"{_ERROR_NAME}.custom_error_name:CustomErrorName.__init__": "2814dc26f7ae"},
)


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        _REVERSE_NAME_LOOKUP,
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
    from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimeoutError

    class HeartbeatTimeoutName(StatesErrorName):
        """``States.Timeout`` of a heartbeat: also matched by ``States.HeartbeatTimeout``."""

        def __init__(self) -> None:
            super().__init__(typ=StatesErrorNameType.StatesTimeout)

    heartbeat_timeout = StatesErrorName(typ=StatesErrorNameType.StatesHeartbeatTimeout)
    original_eval_body = ErrorEqualsDecl._eval_body
    original_from_error = StateTask._from_error

    def _eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        if isinstance(error_name, StatesErrorName) and error_name.typ == StatesErrorNameType.StatesRuntime:
            env.stack.pop()
            env.stack.append(False)
            return
        if isinstance(error_name, HeartbeatTimeoutName) and heartbeat_timeout in self.error_names:
            env.stack.pop()
            env.stack.append(True)
            return
        original_eval_body(self, env)

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, TaskRoleNotAssumed):
            return _permissions_failure(self, env, ex)
        failure_event = original_from_error(self, env, ex)
        if isinstance(ex, HeartbeatTimeoutError):
            failure_event.error_name = HeartbeatTimeoutName()  # type: ignore[misc]  # moto marks it Final
        return failure_event

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        # Constructing a CustomErrorName for a known States.* name gives the StatesErrorName.
        name = kwargs.get("error_name", args[0] if args else None)
        if isinstance(name, str) and name in _REVERSE_NAME_LOOKUP:
            return StatesErrorName.from_name(name)
        return object.__new__(cls)

    install(STATES_RUNTIME, _eval_body)
    install(HEARTBEAT_TIMEOUT, _from_error)
    install(BRANCH_ERRORS, __new__)


def _permissions_failure(state: Any, env: Any, ex: TaskRoleNotAssumed) -> Any:
    """The TaskFailed event of a task whose Credentials role could not be assumed."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    name = StatesErrorNameType.StatesPermissions
    return FailureEvent(
        env=env,
        error_name=StatesErrorName(typ=name),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(  # type: ignore[typeddict-item]
            resource=state._get_sfn_resource(), resourceType=state._get_sfn_resource_type(),
            error=name.to_name(), cause=str(ex))),
    )
