"""Step Functions: makes moto's ASL interpreter behave like AWS where results would differ.

Each fix below patches a class or module of moto 5.2.5 (``moto/stepfunctions/`` and
``moto/stepfunctions/parser/``) in place; :func:`apply` runs once per process.
``tests/localcloud/test_sfn.py`` runs every fix through real state machines, so a moto upgrade
that changes what a fix relies on fails there.

1. **JSONPath** (``asl/utils/json_path.py``, moto issue #7825): a definite path such as
   ``$.Instances[0].InstanceId`` gives the value, an indefinite one (``[*]``, ``..``, filters,
   slices, unions) gives a list, possibly empty -- as AWS (Jayway JsonPath) does. moto gave a
   one-element list for any path going through an index.
2. **StartExecution without a name** gets a UUID, like AWS (moto: ``None``, ARN ``…:None``).
3. **Results of ``aws-sdk:*`` tasks** carry timestamps as ISO-8601 UTC strings
   (``2024-05-08T15:16:43Z``, as the Java SDK that AWS uses prints them), streamed bodies as text
   and blobs as base64, so that later states and ``DescribeExecution`` see JSON (moto kept
   ``datetime`` objects: ``DescribeExecution`` answered HTTP 500). An execution's output is
   stored as the same compact JSON text as its ``ExecutionSucceeded`` event, whatever it holds.
4. **SendTaskFailure** passes ``cause`` on (moto dropped it).
5. **Service clients** of the interpreter are cached per (region, service, endpoint) and point
   at ``http://127.0.0.1:$MOTO_PORT``, read at every call (moto built one client per Task).
6. **Time** goes through :mod:`tapcase.localcloud.timescale`: Wait states and Retry intervals
   are delays; Task ``TimeoutSeconds``/``HeartbeatSeconds`` and a state machine's
   ``TimeoutSeconds`` are deadlines (see that module for the rule). Wait ``Timestamp`` values are
   compared with the current UTC time (moto used local time) and may carry an offset. ``.sync``
   tasks poll their job every 0.05 s instead of 0.5 s (real time, not workflow time).
7. **MockConfigFile** (Step Functions Local): ``StartExecution`` on ``stateMachineArn#TestCase``
   reads the file named by ``SFN_MOCK_CONFIG`` (at each start) and runs that test case: states it
   lists answer from ``MockedResponses`` (``"0"``, ``"1-2"``… by retry attempt; ``Return`` or
   ``Throw {Error, Cause}``), other states call the real service. The execution ARN is the usual
   ``…:execution:<stateMachine>:<name>``.
8. **States.Runtime** is neither retried nor caught, even by ``States.ALL``, as on AWS.
9. **aws-sdk error names** use the service prefix AWS uses (``Ec2.Ec2Exception``,
   ``S3.NoSuchKeyException``); moto wrote ``ec2.ec2Exception``, which no Catch written for AWS
   matches.

moto's per-component error logging (the ``Exception=FailureEventException, Error=…`` lines,
repeated at every level of the state tree) is silenced unless ``TAPCASE_LOCAL_VERBOSE`` is set;
the same error and cause stay in the execution history.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import importlib
import json
import logging
import os
import re
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tapcase.localcloud import timescale

MOCK_CONFIG_ENV = "SFN_MOCK_CONFIG"
VERBOSE_ENV = "TAPCASE_LOCAL_VERBOSE"

_apply_lock = threading.Lock()
_applied = False

# Execution attribute carrying the MockTestCase from StartExecution to the execution worker.
_MOCK_TEST_CASE_ATTR = "_tapcase_mock_test_case"


def apply() -> None:
    """Patch moto's Step Functions in this process (idempotent)."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        _patch_json_path()
        _patch_start_execution()
        _patch_execution_output()
        _patch_aws_sdk_tasks()
        _patch_send_task_failure()
        _patch_boto_clients()
        _patch_delays()
        _patch_deadlines()
        _patch_sync_polling()
        _patch_states_runtime()
        _patch_branch_error_names()
        _quiet_component_logging()
        _applied = True


def _replace_function(module_name: str, attr: str, replacement: Callable[..., Any]) -> None:
    """Replace a module-level function, also where other moto modules imported it by name."""
    module = importlib.import_module(module_name)
    original = getattr(module, attr)
    for name, loaded in list(sys.modules.items()):
        if name.startswith("moto.") and loaded is not None and getattr(loaded, attr, None) is original:
            setattr(loaded, attr, replacement)
    setattr(module, attr, replacement)


# -- 1. JSONPath ----------------------------------------------------------------------------------


def _is_definite(node: Any) -> bool:
    """Whether a parsed path names at most one value (Jayway's notion, which AWS follows)."""
    from jsonpath_ng.jsonpath import Child, Fields, Index, Root, This

    if isinstance(node, (Root, This)):
        return True
    if isinstance(node, Child):
        return _is_definite(node.left) and _is_definite(node.right)
    if isinstance(node, Fields):
        return len(node.fields) == 1 and node.fields[0] != "*"
    if isinstance(node, Index):
        return len(node.indices) == 1
    # Wildcard, Slice, Descendants, filters, unions, ext functions: any number of values.
    return False


@functools.lru_cache(maxsize=2048)
def _compile_path(path: str) -> tuple[Any, bool]:
    from jsonpath_ng.ext import parse

    expression = parse(path)
    return expression, _is_definite(expression)


def extract_json(path: str, data: Any) -> Any:
    """AWS's JSONPath: the value for a definite path, a list of values for an indefinite one."""
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

    expression, definite = _compile_path(path)
    matches = expression.find(data)
    if not definite:
        return [match.value for match in matches]
    if not matches:
        raise NoSuchJsonPathError(json_path=path, data=data)
    return matches[0].value


def _patch_json_path() -> None:
    _replace_function("moto.stepfunctions.parser.asl.utils.json_path", "extract_json", extract_json)


# -- 2 and 7. StartExecution: default name, MockConfigFile test cases -----------------------------


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
        start_date=datetime.datetime.now(tz=datetime.timezone.utc),
        cloud_watch_logging_session=None,
        input_data=input_data,
        trace_header=trace_header,
        activity_store={},
    )
    setattr(execution, _MOCK_TEST_CASE_ATTR, mock_test_case)
    state_machine.executions.append(execution)
    execution.start()
    return execution


def _patch_start_execution() -> None:
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    StepFunctionsParserBackend.start_execution = _start_execution  # type: ignore[method-assign]

    original_worker = Execution._get_start_execution_worker

    def _get_start_execution_worker(self: Any) -> Any:
        worker = original_worker(self)
        # ExecutionWorker hands this to the Environment, whose Task states then read the mocks.
        worker._mock_test_case = getattr(self, _MOCK_TEST_CASE_ATTR, None)
        return worker

    Execution._get_start_execution_worker = _get_start_execution_worker  # type: ignore[method-assign]
    _replace_function(
        "moto.stepfunctions.parser.mocking.mock_config", "load_mock_test_case_for", _load_mock_test_case_for
    )


# -- 3. JSON results -----------------------------------------------------------------------------


def _instant(value: datetime.datetime) -> str:
    """A timestamp as Java's ``Instant.toString()`` prints it: UTC, ``Z``, 0/3/6 fraction digits."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    value = value.astimezone(datetime.timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond % 1000:
        text += f".{value.microsecond:06d}"
    elif value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def aws_sdk_json(value: Any) -> Any:
    """An aws-sdk integration's result as the JSON AWS hands to the next state."""
    from botocore.response import StreamingBody

    if isinstance(value, dict):
        return {key: aws_sdk_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [aws_sdk_json(item) for item in value]
    if isinstance(value, datetime.datetime):
        return _instant(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, StreamingBody):
        return value.read().decode("utf-8", errors="replace")
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


_SERVICE_MODELS: dict[str, Any] = {}


def _service_model(botocore_session: Any, service: str) -> Any:
    if service not in _SERVICE_MODELS:
        _SERVICE_MODELS[service] = botocore_session.get_session().get_service_model(service)
    return _SERVICE_MODELS[service]


def _snake(name: str) -> str:
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    return str(camel_to_snake_case(name))


def _patch_aws_sdk_tasks() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    original_eval = StateTaskServiceAwsSdk._eval_service_task

    def _eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original_eval(self, env, *args, **kwargs)
        env.stack[-1] = aws_sdk_json(env.stack[-1])

    StateTaskServiceAwsSdk._eval_service_task = _eval_service_task  # type: ignore[method-assign]

    # Step Functions takes aws-sdk parameters in PascalCase and maps them to the API's member
    # names (SQS CreateQueue's ``Tags`` is the member ``tags``); moto's port left the mapping
    # out (``_normalise_parameters`` is a no-op), so botocore refused such calls with a KeyError.
    def _normalise_parameters(
        self: Any, parameters: dict[str, Any], boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        import botocore.session

        service = self._get_boto_service_name(boto_service_name)
        action = self._get_boto_service_action(service_action_name)
        model = _service_model(botocore.session, service)
        operation = next((o for o in model.operation_names if _snake(o) == action), None)
        if operation is not None:
            self._to_boto_request(parameters, model.operation_model(operation).input_shape)

    StateTaskServiceAwsSdk._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
    # 9. below: the service prefix of the errors of aws-sdk tasks.
    StateTaskServiceAwsSdk._normalise_service_error_name = staticmethod(  # type: ignore[method-assign]
        sdk_service_error_name
    )


def _patch_execution_output() -> None:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original_reflect = BaseExecutionWorkerCommunication._reflect_execution_status

    def _reflect_execution_status(self: Any) -> None:
        original_reflect(self)
        execution = self.execution
        if execution.exec_status == ExecutionStatus.SUCCEEDED:
            # The JSON text of the ExecutionSucceeded event; moto's DescribeExecution sends a str
            # as it is and json.dumps anything else (a datetime made it answer HTTP 500).
            execution.output = to_json_str(execution.output, separators=(",", ":"))

    BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_execution_status  # type: ignore[method-assign]


# -- 4. SendTaskFailure --------------------------------------------------------------------------


def _patch_send_task_failure() -> None:
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self: Any) -> Any:
        task_token = self._get_param("taskToken")
        error = self._get_param("error")
        cause = self._get_param("cause")
        backend = self.stepfunction_backend
        if isinstance(backend, StepFunctionsParserBackend):
            backend.send_task_failure(task_token, error=error, cause=cause)
        else:  # moto's own model (interpreter off) has no cause to keep
            backend.send_task_failure(task_token, error=error)
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]


# -- 5. Service clients --------------------------------------------------------------------------

_clients: dict[tuple[str, str, str | None], Any] = {}
_clients_lock = threading.Lock()


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """The interpreter's client for a service (moto's signature; credentials are not used)."""
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    # In-process mock_aws intercepts calls itself; otherwise the server of this process answers.
    endpoint = None if botocore_stubber.enabled else f"http://127.0.0.1:{moto_server_port()}"
    key = (region, service, endpoint)
    client = _clients.get(key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            import boto3
            from botocore.config import Config
            from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

            for stale in [k for k in _clients if k[2] != endpoint]:
                del _clients[stale]  # a previous local cloud's port
            # A session per client: boto3's default session is not thread-safe.
            client = boto3.session.Session().client(
                service_name=service,
                region_name=region,
                endpoint_url=endpoint,
                aws_access_key_id="ak",
                aws_secret_access_key="sk",
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    max_pool_connections=50,
                ),
            )
            if service == "ec2":
                # Step Functions passes aws-sdk parameters as given (EC2 UserData must already be
                # base64, as with AWS's Java SDK); botocore would encode UserData a second time.
                from botocore.handlers import base64_encode_user_data

                client.meta.events.unregister("before-parameter-build.ec2.RunInstances", base64_encode_user_data)
            _clients[key] = client
    return client


def _patch_boto_clients() -> None:
    _replace_function("moto.stepfunctions.parser.asl.utils.boto_client", "boto_client_for", boto_client_for)


# -- 6. Time -------------------------------------------------------------------------------------


def _delay(env: Any, seconds: float) -> None:
    """A Wait or Retry delay; ends early if the execution stops."""
    timescale.sleep(seconds, wake=env.program_state_event, cancelled=lambda: not env.is_running())


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(timestamp: Any) -> datetime.datetime | None:
    """A Wait ``Timestamp`` (RFC 3339, upper-case ``T``, ``Z`` or an offset), or None."""
    if not isinstance(timestamp, str) or not _RFC3339.match(timestamp):
        return None
    try:
        return datetime.datetime.fromisoformat(timestamp[:-1] + "+00:00" if timestamp.endswith("Z") else timestamp)
    except ValueError:
        return None


def _patch_delays() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_decl import RetrierDecl
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import (
        MaxAttemptsOutcome,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    def _wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        _delay(env, wait_seconds)

    def _timestamp_wait_seconds(self: Any, env: Any) -> float:
        self.string.eval(env=env)
        timestamp_text = env.stack.pop()
        timestamp = self._from_timestamp_string(timestamp=timestamp_text)
        if timestamp is None:
            raise FailureEventException(self._create_failure_event(env, timestamp_text))
        return (timestamp - datetime.datetime.now(tz=datetime.timezone.utc)).total_seconds()

    def _retrier_eval_body(self: Any, env: Any) -> None:
        # moto's RetrierDecl._eval_body, with the interval slept through the time scale.
        self.error_equals.eval(env)
        if not env.stack.pop():
            env.stack.append(RetrierOutcome.Skipped)
            return
        self.max_attempts.eval(env=env)
        if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
            env.stack.append(RetrierOutcome.Failed)
            return
        # IntervalSeconds, then BackoffRate, MaxDelaySeconds and JitterStrategy transform it.
        self.interval_seconds.eval(env=env)
        self.backoff_rate.eval(env=env)
        self.max_delay_seconds.eval(env=env)
        self.jitter_strategy.eval(env=env)
        _delay(env, env.stack.pop())
        env.stack.append(RetrierOutcome.Executed)

    WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
    Timestamp._from_timestamp_string = staticmethod(parse_timestamp)  # type: ignore[method-assign]
    Timestamp._get_wait_seconds = _timestamp_wait_seconds  # type: ignore[method-assign]
    RetrierDecl._eval_body = _retrier_eval_body  # type: ignore[method-assign]


def _deadline(seconds: float | None) -> float | None:
    """Real seconds for a declared timeout; moto's 'no timeout' default stays as it is."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    if seconds is None or seconds >= TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS:
        return seconds
    return timescale.scaled_timeout(seconds)


def _patch_deadlines() -> None:
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.eval.callback.callback import (
        ActivityTaskStartEndpoint,
        CallbackEndpoint,
        HeartbeatEndpoint,
    )
    from moto.stepfunctions.parser.utils import TMP_THREADS

    def _evaluate_with_timeout(self: Any, env: Any) -> None:
        # moto's ExecutionState._evaluate_with_timeout; only the wait for the state is scaled.
        self.timeout.eval(env=env)
        timeout_seconds = env.stack.pop()

        frame = env.open_frame()
        frame.states.reset(input_value=env.states.get_input())
        frame.stack = copy.deepcopy(env.stack)
        execution_outputs: list[Any] = []
        execution_exceptions: list[Exception | None] = [None]
        terminated_event = threading.Event()

        def _exec_and_notify() -> None:
            try:
                self._eval_execution(frame)
                execution_outputs.extend(frame.stack)
            except Exception as ex:  # noqa: BLE001 - handed to the caller below, as moto does
                execution_exceptions.append(ex)
            terminated_event.set()

        thread = threading.Thread(target=_exec_and_notify, daemon=True)
        TMP_THREADS.append(thread)
        thread.start()

        finished_on_time = terminated_event.wait(_deadline(timeout_seconds))
        frame.set_ended()
        env.close_frame(frame)

        execution_exception = execution_exceptions.pop()
        if execution_exception:
            raise execution_exception
        if not finished_on_time:
            raise EvalTimeoutError()

        execution_output = execution_outputs.pop()
        env.stack.append(execution_output)
        if not self._is_language_query_jsonpath():
            env.states.set_result(execution_output)
        if self.assign_decl:
            self.assign_decl.eval(env=env)
        if self.result_selector:
            self.result_selector.eval(env=env)
        if self.result_path:
            self.result_path.eval(env)
        else:
            env.states.reset(input_value=env.stack.pop())

    def _program_eval(self: Any, env: Any) -> None:
        # moto's Program.eval with the state machine's TimeoutSeconds scaled.
        timeout = self.timeout_seconds.timeout_seconds if self.timeout_seconds else None
        env.next_state_name = self.start_at.start_at_name
        worker = threading.Thread(target=super(Program, self).eval, args=(env,), daemon=True)
        TMP_THREADS.append(worker)
        worker.start()
        worker.join(timeout=_deadline(timeout))
        if worker.is_alive():
            env.set_timed_out()

    def _callback_wait(self: Any, timeout: float | None = None) -> Any:
        self._notify_event.wait(timeout=_deadline(timeout))
        return self._outcome

    def _heartbeat_clear_and_wait(self: Any) -> bool:
        with self._mutex:
            if self._next_heartbeat_event.is_set():
                self._next_heartbeat_event.clear()
                return True
        return self._next_heartbeat_event.wait(timeout=_deadline(self._heartbeat_seconds))

    def _activity_start_wait(self: Any, timeout_seconds: float) -> Any:
        self._next_activity_task_start_event.wait(timeout=_deadline(timeout_seconds))
        return self._outcome

    ExecutionState._evaluate_with_timeout = _evaluate_with_timeout  # type: ignore[method-assign]
    Program.eval = _program_eval  # type: ignore[method-assign]
    CallbackEndpoint.wait = _callback_wait  # type: ignore[method-assign]
    HeartbeatEndpoint.clear_and_wait = _heartbeat_clear_and_wait  # type: ignore[method-assign]
    ActivityTaskStartEndpoint.wait = _activity_start_wait  # type: ignore[method-assign]


# .sync tasks: moto asks the service for the job's status every 0.5 s (AWS polls as well); the
# local services answer at once, so the interpreter asks more often.
SYNC_POLL_SECONDS = 0.05


def _patch_sync_polling() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback_module,
    )

    if not hasattr(callback_module, "_DELAY_SECONDS_SYNC_CONDITION_CHECK"):
        raise RuntimeError("moto's .sync polling interval moved: review tapcase/localcloud/sfn.py")
    callback_module._DELAY_SECONDS_SYNC_CONDITION_CHECK = SYNC_POLL_SECONDS  # type: ignore[misc]


# -- 8. States.Runtime ---------------------------------------------------------------------------


def _patch_states_runtime() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (
        ErrorEqualsDecl,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )

    original_eval_body = ErrorEqualsDecl._eval_body

    def _eval_body(self: Any, env: Any) -> None:
        # AWS: "A States.Runtime error isn't retriable, and will always cause the execution to
        # fail. A retry or catch on States.ALL won't catch States.Runtime errors."
        error_name = env.stack[-1]
        if isinstance(error_name, StatesErrorName) and error_name.typ == StatesErrorNameType.StatesRuntime:
            env.stack.pop()
            env.stack.append(False)
            return
        original_eval_body(self, env)

    ErrorEqualsDecl._eval_body = _eval_body  # type: ignore[method-assign]


def _patch_branch_error_names() -> None:
    """A Parallel branch, Map iteration or callback failing with a ``States.*`` error
    (``States.Timeout`` of a callback, ``States.TaskFailed``…) must fail its state with that error,
    catchable by the state's Catch. moto re-wraps such names in ``CustomErrorName``, whose
    constructor refuses the ``States.`` prefix with a ValueError, so the whole execution crashed.
    Constructing one for a known ``States.*`` name now gives the ``StatesErrorName`` instead."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        _REVERSE_NAME_LOOKUP,
    )

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("error_name", args[0] if args else None)
        if isinstance(name, str) and name in _REVERSE_NAME_LOOKUP:
            return StatesErrorName.from_name(name)
        return object.__new__(cls)

    CustomErrorName.__new__ = __new__  # type: ignore[method-assign,assignment]


# -- 9. aws-sdk error names ----------------------------------------------------------------------

# Service prefixes of aws-sdk errors: the AWS SDK for Java 2.x client names AWS uses.
_SDK_SERVICE_ERROR_NAMES: dict[str, str] = {
    "athena": "Athena",
    "cloudformation": "CloudFormation",
    "cloudwatch": "CloudWatch",
    "cloudwatchlogs": "CloudWatchLogs",
    "dynamodb": "DynamoDb",
    "ec2": "Ec2",
    "ecr": "Ecr",
    "ecs": "Ecs",
    "elasticloadbalancingv2": "ElasticLoadBalancingV2",
    "eventbridge": "EventBridge",
    "firehose": "Firehose",
    "glue": "Glue",
    "guardduty": "GuardDuty",
    "iam": "Iam",
    "kinesis": "Kinesis",
    "kms": "Kms",
    "lambda": "Lambda",
    "networkfirewall": "NetworkFirewall",
    "organizations": "Organizations",
    "route53": "Route53",
    "s3": "S3",
    "secretsmanager": "SecretsManager",
    "securityhub": "SecurityHub",
    "sfn": "Sfn",
    "sns": "Sns",
    "sqs": "Sqs",
    "ssm": "Ssm",
    "sts": "Sts",
}


def sdk_service_error_name(service_name: str) -> str:
    """The prefix of an aws-sdk integration's error names, e.g. ``ec2`` -> ``Ec2``."""
    known = _SDK_SERVICE_ERROR_NAMES.get(service_name.lower())
    return known or service_name[:1].upper() + service_name[1:]


# -- Logging -------------------------------------------------------------------------------------


class _VerboseOnly(logging.Filter):
    """Lets records through only while ``TAPCASE_LOCAL_VERBOSE`` is set."""

    def filter(self, record: logging.LogRecord) -> bool:
        return bool(os.environ.get(VERBOSE_ENV))


def _quiet_component_logging() -> None:
    from moto.stepfunctions.parser.asl.component import eval_component

    logger = eval_component.LOG
    if type(logger) is logging.Logger and not any(isinstance(f, _VerboseOnly) for f in logger.filters):
        logger.addFilter(_VerboseOnly())
