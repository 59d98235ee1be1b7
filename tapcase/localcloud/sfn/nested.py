"""``states:startExecution`` (nested workflows): parameters and results as AWS passes them.

The optimized Step Functions integration takes ``StateMachineArn``, ``Input`` and ``Name`` in
PascalCase, and answers in PascalCase: ``{"ExecutionArn", "StartDate"}``, or with ``.sync`` /
``.sync:2`` the child's ``DescribeExecution`` (``ExecutionArn``, ``Status``, ``Input``, ``Output``:
text with ``.sync``, JSON with ``.sync:2``). moto 5.2.5 handed the PascalCase parameters to
botocore unchanged, so the API saw no ``stateMachineArn`` and refused every start ("Value null at
'stateMachineArn'"), and left the results in the API's camelCase with ``datetime`` values. Here the
parameters are mapped to the API's member names (null members left unset, :mod:`.requests`) and
the results to PascalCase, timestamps as ISO-8601 text (:func:`.aws_sdk.aws_sdk_json`).
"""

from __future__ import annotations

from typing import Any

from tapcase.localcloud.patching import Patch, install
from tapcase.localcloud.sfn import requests
from tapcase.localcloud.sfn.aws_sdk import aws_sdk_json, service_model

_SFN = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn"
_BASE = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service"

PARAMETERS = Patch(
    target=f"{_SFN}:StateTaskServiceSfn._normalise_parameters",
    fixes="states:startExecution parameters in PascalCase reach the API as stateMachineArn/input/name",
    relies_on="StateTaskServiceSfn._normalise_parameters turns Input into JSON text; _to_boto_request"
    "(parameters, input_shape) renames members to the API's",
    watch={
        f"{_SFN}:StateTaskServiceSfn._normalise_parameters": "d75d3da19aad",
        f"{_BASE}:StateTaskService._to_boto_request": "3d3ae0c7923f",
        f"{_SFN}:StateTaskServiceSfn._eval_service_task": "dc94f9e92201",
    },
)
RESPONSE = Patch(
    target=f"{_SFN}:StateTaskServiceSfn._normalise_response",
    fixes="states:startExecution results in PascalCase with JSON timestamps (the child's DescribeExecution for .sync)",
    relies_on="the sync resolvers call _normalise_response(response, service_action_name='describe_execution') "
    "after parsing input/output (.sync:2); _eval_execution calls it on every result; "
    "_from_boto_response(response, output_shape) renames the shape's members to PascalCase",
    watch={
        f"{_BASE}:StateTaskService._normalise_response": "00e0b0a50b1d",
        f"{_BASE}:StateTaskService._from_boto_response": "cd62c1ac7951",
        f"{_SFN}:StateTaskServiceSfn._build_sync2_resolver": "fbbf50b684b9",
    },
)


def _operation(self: Any, service_action_name: str | None) -> Any:
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    action = self._get_boto_service_action(service_action_name)
    model = service_model("stepfunctions")
    name = next((o for o in model.operation_names if camel_to_snake_case(o) == action), None)
    return model.operation_model(name) if name else None


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    original = StateTaskServiceSfn._normalise_parameters

    def _normalise_parameters(
        self: Any, parameters: dict[str, Any], boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)
        operation = _operation(self, service_action_name)
        if operation is not None:
            cleaned = requests.without_nulls(parameters, operation.input_shape)
            parameters.clear()
            parameters.update(cleaned)
            self._to_boto_request(parameters, operation.input_shape)

    def _normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None,
    ) -> None:
        operation = _operation(self, service_action_name)
        if not isinstance(response, dict) or operation is None or operation.output_shape is None:
            return
        self._from_boto_response(response, operation.output_shape)
        converted = aws_sdk_json(response)
        response.clear()
        response.update(converted)

    install(PARAMETERS, _normalise_parameters)
    install(RESPONSE, _normalise_response)
