"""Executions: StartExecution names and test cases, and the output DescribeExecution gives.

- ``StartExecution`` without a name gets a UUID, as on AWS (moto 5.2.5: ``None``, ARN ``…:None``).
- ``stateMachineArn#TestCase`` runs a MockConfigFile test case (:mod:`.mockconfig`); the execution
  ARN is the usual ``…:execution:<stateMachine>:<name>``.
- An execution's output is stored as the same compact JSON text as its ``ExecutionSucceeded``
  event, whatever it holds (moto kept a ``datetime``: ``DescribeExecution`` answered HTTP 500).
- An execution's program is parsed once per definition (moto parsed the ASL with ANTLR for every
  execution, ~0.1 s for the investigation's): each execution gets a deep copy of the parsed program,
  as fresh as a new parse (components keep per-execution state, e.g. a Parallel's branches).
- StopExecution is :mod:`.stopping`.
- Every start and end sends "Step Functions Execution Status Change" to EventBridge
  (:func:`tapcase.localcloud.events.execution_status_changed`).
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import threading
import uuid
from typing import Any

from tapcase.localcloud import events
from tapcase.localcloud.patching import Patch, install
from tapcase.localcloud.sfn import deleting
from tapcase.localcloud.sfn.mockconfig import MOCK_TEST_CASE_ATTR, MockConfigError, load_mock_test_case

START = Patch(
    target="moto.stepfunctions.parser.models:StepFunctionsParserBackend.start_execution",
    fixes="StartExecution without a name gets a UUID; stateMachineArn#TestCase runs a MockConfigFile test case",
    relies_on="moto's start_execution: deepcopy snapshot of the state machine sharing backend, "
    "Execution(...) then execution.start(); _handle_name_input_idempotency for repeated names",
    watch={"moto.stepfunctions.parser.models:StepFunctionsParserBackend.start_execution": "0f8d9dd57baf"},
)
OUTPUT = Patch(
    target="moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication._reflect_execution_status",
    fixes="DescribeExecution's output is the compact JSON text of ExecutionSucceeded, never HTTP 500; "
    "an execution aborted by StopExecution keeps the status and stop date it was given",
    relies_on="_reflect_execution_status copies env.states.get_input() into execution.output when "
    "the program ended; moto's DescribeExecution sends a str output as it is",
    watch={
        "moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication._reflect_execution_status": "038a396107af",
    },
)


PROGRAM = Patch(
    target="moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._get_evaluation_entrypoint",
    fixes="a definition is parsed once; each execution runs a deep copy of the parsed program (~5 ms, not ~100 ms)",
    relies_on="_get_evaluation_entrypoint returns AmazonStateLanguageParser.parse(definition)[0], a tree of "
    "plain component objects that one execution evaluates (and may mutate)",
    watch={
        "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._get_evaluation_entrypoint": "2b25949ae855",
    },
)

_parse_lock = threading.Lock()


@functools.lru_cache(maxsize=64)
def _parsed(definition: str) -> Any:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    return AmazonStateLanguageParser.parse(definition)[0]


def _evaluation_entrypoint(self: Any) -> Any:
    """moto's ``ExecutionWorker._get_evaluation_entrypoint``: a fresh copy of the parsed program."""
    definition = self._evaluation_details.state_machine_details.definition
    with _parse_lock:  # one parse per definition, whoever asks first
        program = _parsed(definition)
    return copy.deepcopy(program)


def _start_execution(
    self: Any,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> Any:
    """moto's ``StepFunctionsParserBackend.start_execution`` with AWS's name default and
    Step Functions Local's ``arn#TestCase``."""
    # moto.stepfunctions.exceptions, not parser.api: the latter's errors reach clients without a code.
    from moto.stepfunctions.exceptions import InvalidExecutionInput, InvalidName
    from moto.stepfunctions.parser.backend.execution import Execution

    state_machine_arn, has_test_case, test_case_name = state_machine_arn.partition("#")
    if name:
        self._validate_name(name)
    else:
        name = str(uuid.uuid4())
    state_machine = self.describe_state_machine(state_machine_arn)
    deleting.refuse_start(state_machine)  # StateMachineDeleting

    mock_test_case = None
    if has_test_case:
        try:
            mock_test_case = load_mock_test_case(state_machine.name, test_case_name)
        except MockConfigError as exc:
            raise InvalidName(
                f"Invalid mock test case name '{test_case_name}' for state machine "
                f"'{state_machine.name}': {exc}"
            ) from exc

    existing = state_machine._handle_name_input_idempotency(name, execution_input)
    if existing is not None:
        return existing

    # As moto: a snapshot of the definition that shares neither the executions (live threads
    # and locks) nor the backend (moto issue #10077).
    snapshot = copy.deepcopy(
        state_machine,
        {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend},
    )
    if execution_input is None:
        input_data = "{}"
    else:
        input_data = execution_input
        try:
            json.loads(execution_input)
        except ValueError as exc:
            raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from exc

    execution = Execution(
        name=name,
        sm_type=snapshot.sm_type,
        role_arn=snapshot.roleArn,
        exec_arn=(
            f"arn:{self.partition}:states:{self.region_name}:{self.account_id}"
            f":execution:{state_machine.name}:{name}"
        ),
        account_id=self.account_id,
        region_name=self.region_name,
        state_machine=snapshot,
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=input_data,
        trace_header=trace_header,
        activity_store={},
    )
    setattr(execution, MOCK_TEST_CASE_ATTR, mock_test_case)
    state_machine.executions.append(execution)
    execution.start()
    events.execution_status_changed(execution)  # RUNNING
    return execution


def apply() -> None:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original_reflect = BaseExecutionWorkerCommunication._reflect_execution_status

    def _reflect_execution_status(self: Any) -> None:
        execution = self.execution
        if execution.exec_status == ExecutionStatus.ABORTED:
            return  # StopExecution already set the status, stop date, error and cause (.stopping)
        original_reflect(self)
        if execution.exec_status == ExecutionStatus.SUCCEEDED:
            # The JSON text of the ExecutionSucceeded event; moto's DescribeExecution sends a str
            # as it is and json.dumps anything else (a datetime made it answer HTTP 500).
            execution.output = to_json_str(execution.output, separators=(",", ":"))
        events.execution_status_changed(execution)  # SUCCEEDED, FAILED or TIMED_OUT

    install(START, _start_execution)
    install(OUTPUT, _reflect_execution_status)
    install(PROGRAM, _evaluation_entrypoint)
