"""Step Functions' optimized Athena integration for moto's ASL interpreter.

moto 5.2.5's interpreter refuses ``arn:aws:states:::athena:*`` (``athena`` is in its unsupported
services). Here ``startQueryExecution`` (request-response and ``.sync``), ``getQueryExecution``,
``getQueryResults`` and ``stopQueryExecution`` are served by a Task implementation modelled on
moto's Glue and Batch integrations; ``.sync`` polls GetQueryExecution until the query ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final

from tapcase.localcloud.patching import Patch, install

_STATE_TASK = "moto.stepfunctions.parser.asl.component.state.exec.state_task"
_SERVICE = f"{_STATE_TASK}.service"
_CALLBACK = f"{_SERVICE}.state_task_service_callback:StateTaskServiceCallback"

INTEGRATION = Patch(
    target=f"{_SERVICE}.state_task_service_factory:state_task_service_for",
    fixes="Task states can use athena:startQueryExecution[.sync], getQueryExecution, getQueryResults, "
    "stopQueryExecution",
    relies_on="state_task_for gets each Task's service from state_task_service_for(service_name) (imported by "
    "name); StateTaskServiceCallback's .sync machinery (_build_sync_resolver polled by _eval_sync)",
    watch={
        f"{_SERVICE}.state_task_service_factory:state_task_service_for": "a21a16afc5f6",
        f"{_STATE_TASK}.state_task_factory:state_task_for": "9a0a5fa80ae7",
        f"{_CALLBACK}.__init__": "4c47509c2a29",
        f"{_CALLBACK}._eval_sync": "b8f76de4d514",
        f"{_CALLBACK}._eval_integration_pattern": "3b97ada1d4cb",
        f"{_CALLBACK}._from_error": "1b5fce896077",
        f"{_SERVICE}.state_task_service:StateTaskService._validate_service_integration_is_supported": "cb86413f6446",
        "moto.stepfunctions.parser.asl.utils.boto_client:boto_client_for": "1f44dc2ac8aa",
    },
)


# The APIs and parameters of the optimized integration (Step Functions developer guide,
# "Run Athena queries with Step Functions"); only StartQueryExecution supports .sync, and
# .waitForTaskToken is not supported.
_ATHENA_API_PARAMETERS: Final[dict[str, set[str]]] = {
    "startqueryexecution": {
        "ClientRequestToken",
        "ExecutionParameters",
        "QueryExecutionContext",
        "QueryString",
        "ResultConfiguration",
        "ResultReuseConfiguration",
        "WorkGroup",
    },
    "stopqueryexecution": {"QueryExecutionId"},
    "getqueryexecution": {"QueryExecutionId"},
    "getqueryresults": {"MaxResults", "NextToken", "QueryExecutionId"},
}
_SYNC_ACTIONS: Final[set[str]] = {"startqueryexecution"}
_FAILED_QUERY_STATES: Final[set[str]] = {"FAILED", "CANCELLED"}


def to_sfn_json(value: Any) -> Any:
    """A boto3 response as Step Functions passes it on: timestamps become epoch milliseconds.

    A real ``startQueryExecution.sync`` output shows ``"SubmissionDateTime":1643969446810``.
    """
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: to_sfn_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_sfn_json(v) for v in value]
    return value


def _build_state_task_service_class() -> type:
    """The interpreter's Task implementation for ``arn:aws:states:::athena:*``."""
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils import boto_client
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    class StateTaskServiceAthena(StateTaskServiceCallback):
        """``athena:startQueryExecution[.sync]``, ``getQueryExecution``, ``getQueryResults``,
        ``stopQueryExecution``, modelled on moto's Glue and Batch integrations.

        Error names, as far as they could be established:

        - an API error (e.g. an unknown workgroup) fails the Task with ``Athena.<ErrorCode>``
          (``Athena.InvalidRequestException``), with the AWS SDK for Java's cause text: Step
          Functions' convention for optimized integrations (moto's Glue and Batch integrations do
          the same), and the names state machines written for AWS retry on
          (``Athena.TooManyRequestsException``);
        - a ``.sync`` query that ends FAILED or CANCELLED fails the Task with
          ``States.TaskFailed`` and the GetQueryExecution response (JSON) as the cause. Not
          confirmed: AWS's documentation is silent. Chosen because it is what moto's interpreter
          (ported from LocalStack, whose integration tests are snapshot-recorded against AWS) does
          for the failed ``.sync`` jobs it models (Glue, Batch, nested Step Functions), and what
          independent emulators do for Athena. Not ``Athena.AmazonAthenaException``: that name
          appears in user Retry lists for API errors, not for a query that ran and failed.
          ``States.TaskFailed`` and ``States.ALL`` catch both kinds.
        """

        def __init__(self) -> None:
            # ResourceCondition's members are plain str constants (moto annotates the set as enums).
            super().__init__(supported_integration_patterns={ResourceCondition.Sync})  # type: ignore[arg-type]

        def _get_supported_parameters(self) -> set[str] | None:
            return _ATHENA_API_PARAMETERS.get(self.resource.api_action.lower())

        def _validate_service_integration_is_supported(self) -> None:
            super()._validate_service_integration_is_supported()
            condition = self.resource.condition
            action = self.resource.api_action.lower()
            if condition is not None and (condition != ResourceCondition.Sync or action not in _SYNC_ACTIONS):
                raise ValueError(
                    f"The resource provided {self.resource.resource_arn} not recognized. "
                    "The value is not a valid resource ARN, or the resource is not available in this region."
                )

        def _client(self, resource_runtime_part: Any, state_credentials: Any) -> Any:
            # Looked up on the module at call time, so a patched (e.g. caching) factory is used.
            return boto_client.boto_client_for(
                service="athena", region=resource_runtime_part.region, state_credentials=state_credentials
            )

        def _eval_service_task(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> None:
            client = self._client(resource_runtime_part, state_credentials)
            response = getattr(client, self._get_boto_service_action())(**normalised_parameters)
            response.pop("ResponseMetadata", None)
            env.stack.append(to_sfn_json(response))

        def _from_error(self, env: Any, ex: Exception) -> Any:
            if isinstance(ex, ClientError):
                code = ex.response["Error"]["Code"]
                error_name = f"Athena.{code}"
                metadata = ex.response.get("ResponseMetadata", {})
                cause = (
                    f"{ex.response['Error'].get('Message', '')} (Service: AmazonAthena; "
                    f"Status Code: {metadata.get('HTTPStatusCode', 400)}; Error Code: {code}; "
                    f"Request ID: {metadata.get('RequestId', '')}; Proxy: null)"
                )
                return FailureEvent(
                    env=env,
                    error_name=CustomErrorName(error_name),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(  # type: ignore[typeddict-item]  # moto: total=True
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error=error_name,
                            cause=cause,
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                        )
                    ),
                )
            return super()._from_error(env=env, ex=ex)

        def _eval_integration_pattern(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> None:
            # moto 5.2.5's StateTaskServiceCallback._eval_integration_pattern calls
            # interrupt_all() on a callback endpoint that is None unless .waitForTaskToken is a
            # supported pattern; Athena supports .sync only, so the wait is driven here.
            sync_resolver = self._build_sync_resolver(
                env=env,
                resource_runtime_part=resource_runtime_part,
                normalised_parameters=normalised_parameters,
                state_credentials=state_credentials,
            )
            outcome = self._eval_sync(
                env=env,
                sync_resolver=sync_resolver,
                timeout_seconds=None,
                callback_endpoint=None,
                heartbeat_endpoint=None,
            )
            env.stack.append(outcome)

        def _build_sync_resolver(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> Callable[[], Any]:
            start_output: dict[str, Any] = env.stack.pop()
            execution_id = start_output["QueryExecutionId"]
            client = self._client(resource_runtime_part, state_credentials)

            def resolve() -> dict[str, Any] | None:
                response = client.get_query_execution(QueryExecutionId=execution_id)
                response.pop("ResponseMetadata", None)
                output: dict[str, Any] = to_sfn_json(response)
                state = output["QueryExecution"]["Status"]["State"]
                if state == "SUCCEEDED":
                    return output  # AWS's .sync output: {"QueryExecution": {...}}
                if state in _FAILED_QUERY_STATES:
                    raise FailureEventException(
                        FailureEvent(
                            env=env,
                            error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                            event_type=HistoryEventType.TaskFailed,
                            event_details=EventDetails(  # type: ignore[typeddict-item]  # moto: total=True
                                taskFailedEventDetails=TaskFailedEventDetails(
                                    resource=self._get_sfn_resource(),
                                    resourceType=self._get_sfn_resource_type(),
                                    error=StatesErrorNameType.StatesTaskFailed.to_name(),
                                    cause=to_json_str(output),
                                )
                            ),
                        )
                    )
                return None  # QUEUED or RUNNING: poll again

            return resolve

    return StateTaskServiceAthena


_state_task_service_class: type | None = None


def state_task_service_class() -> type:
    global _state_task_service_class
    if _state_task_service_class is None:
        _state_task_service_class = _build_state_task_service_class()
    return _state_task_service_class


def apply() -> None:
    # state_task_factory imported state_task_service_for by name: loaded first, so that
    # ``everywhere`` replaces that binding too. The replacement serves athena, moto the rest.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory  # noqa: F401

    service_class = state_task_service_class()
    moto_factory: Callable[[str], Any]

    def state_task_service_for(service_name: str) -> Any:
        if service_name == "athena":
            return service_class()
        return moto_factory(service_name)

    moto_factory = install(INTEGRATION, state_task_service_for, everywhere=True)
