"""Step Functions Local's MockConfigFile on the local cloud.

``StartExecution`` on ``stateMachineArn#TestCase`` (see :mod:`.executions`) reads the file named
by ``SFN_MOCK_CONFIG`` at each start and runs that test case: states it lists answer from
``MockedResponses`` (``"0"``, ``"1-2"``… by retry attempt; ``Return`` or ``Throw {Error, Cause}``),
other states call the real service. moto 5.2.5 keeps the data model
(``parser/mocking/mock_config.py``) but never loads a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tapcase.localcloud.patching import Patch, install

MOCK_CONFIG_ENV = "SFN_MOCK_CONFIG"

# Execution attribute carrying the MockTestCase from StartExecution to the execution worker.
MOCK_TEST_CASE_ATTR = "_tapcase_mock_test_case"

LOAD_HOOK = Patch(
    target="moto.stepfunctions.parser.mocking.mock_config:load_mock_test_case_for",
    fixes="a test case is read from the file in SFN_MOCK_CONFIG (moto hard-codes no file)",
    relies_on="moto's provider asks mock_config.load_mock_test_case_for(state_machine_name, "
    "test_case_name) for a MockTestCase, None when there is none",
    watch={"moto.stepfunctions.parser.mocking.mock_config:load_mock_test_case_for": "4fe3478127a3"},
)
WORKER = Patch(
    target="moto.stepfunctions.parser.backend.execution:Execution._get_start_execution_worker",
    fixes="the execution's Task states answer from the test case chosen at StartExecution",
    relies_on="ExecutionWorker._mock_test_case is handed to the Environment, whose Task states "
    "use it when is_mocked_mode()",
    watch={
        "moto.stepfunctions.parser.backend.execution:Execution._get_start_execution_worker": "f06f34d872b0",
        "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._get_evaluation_environment": "ce8421b71dab",
    },
)
_DYNAMODB = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb"
DYNAMODB_THROW = Patch(
    target=f"{_DYNAMODB}:StateTaskServiceDynamoDB._from_error",
    fixes="a mocked Throw of a DynamoDB task fails with the test case's Error and Cause (moto: "
    "DynamoDB.AmazonDynamoDBException, whatever the test case said), as on Step Functions Local",
    relies_on="eval_mocked_response raises FailureEventException(failure_event) for a Throw; "
    "StateTaskServiceDynamoDB._from_error maps every non-ClientError to its generic error",
    watch={f"{_DYNAMODB}:StateTaskServiceDynamoDB._from_error": "a27eaf8b4975"},
)


class MockConfigError(Exception):
    """The mock configuration file is missing, unreadable or does not define what was asked."""


def load_mock_test_case(state_machine_name: str, test_case_name: str) -> Any:
    """The ``MockTestCase`` for a state machine's test case, from the file in ``SFN_MOCK_CONFIG``.

    Raises :class:`MockConfigError` when the file or the test case cannot be used.
    """
    from moto.stepfunctions.parser.mocking.mock_config import (
        MockedResponse,
        MockedResponseReturn,
        MockedResponseThrow,
        MockTestCase,
        StateMockedResponses,
        _parse_mocked_response_range,
    )

    location = os.environ.get(MOCK_CONFIG_ENV)
    if not location:
        raise MockConfigError(f"no mock configuration file: {MOCK_CONFIG_ENV} is not set")
    try:
        config = json.loads(Path(location).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MockConfigError(f"cannot read the mock configuration file {location}: {exc}") from exc

    def section(parent: Any, key: str, where: str) -> dict[str, Any]:
        value = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(value, dict):
            raise MockConfigError(f"{location}: {where} has no object {key!r}")
        return value

    machines = section(config, "StateMachines", "the file")
    machine = section(machines, state_machine_name, "StateMachines")
    test_cases = section(machine, "TestCases", f"state machine {state_machine_name!r}")
    test_case = section(test_cases, test_case_name, f"TestCases of {state_machine_name!r}")
    mocked_responses = section(config, "MockedResponses", "the file")

    try:
        per_state: list[StateMockedResponses] = []
        for state_name, response_name in test_case.items():
            attempts = section(mocked_responses, str(response_name), "MockedResponses")
            responses: list[MockedResponse] = []
            for attempt_range, outcome in attempts.items():
                start, end = _parse_mocked_response_range(attempt_range)
                if not isinstance(outcome, dict) or len(outcome.keys() & {"Return", "Throw"}) != 1:
                    raise MockConfigError(
                        f"{location}: {response_name}[{attempt_range!r}] must hold exactly one of Return, Throw"
                    )
                if "Return" in outcome:
                    responses.append(MockedResponseReturn(start, end, payload=outcome["Return"]))
                    continue
                throw = outcome["Throw"]
                if not (
                    isinstance(throw, dict)
                    and isinstance(throw.get("Error"), str)
                    and isinstance(throw.get("Cause"), str)
                ):
                    raise MockConfigError(
                        f"{location}: {response_name}[{attempt_range!r}].Throw needs string Error and Cause"
                    )
                responses.append(MockedResponseThrow(start, end, error=throw["Error"], cause=throw["Cause"]))
            per_state.append(StateMockedResponses(state_name, str(response_name), responses))
        return MockTestCase(state_machine_name, test_case_name, per_state)
    except (RuntimeError, ValueError) as exc:  # moto's checks of ranges and duplicates
        raise MockConfigError(f"{location}: {exc}") from exc


def _load_mock_test_case_for(state_machine_name: str, test_case_name: str) -> Any:
    """moto's hook (``mocking.mock_config.load_mock_test_case_for``): None when unusable."""
    try:
        return load_mock_test_case(state_machine_name, test_case_name)
    except MockConfigError:
        return None


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb import (
        StateTaskServiceDynamoDB,
    )
    from moto.stepfunctions.parser.backend.execution import Execution

    original_dynamodb_from_error = StateTaskServiceDynamoDB._from_error

    def dynamodb_from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, FailureEventException):
            return ex.failure_event
        return original_dynamodb_from_error(self, env, ex)

    original_worker = Execution._get_start_execution_worker

    def _get_start_execution_worker(self: Any) -> Any:
        worker = original_worker(self)
        # ExecutionWorker hands this to the Environment, whose Task states then read the mocks.
        worker._mock_test_case = getattr(self, MOCK_TEST_CASE_ATTR, None)  # type: ignore[misc]  # Final in moto
        return worker

    install(WORKER, _get_start_execution_worker)
    install(DYNAMODB_THROW, dynamodb_from_error)
    install(LOAD_HOOK, _load_mock_test_case_for, everywhere=True)
