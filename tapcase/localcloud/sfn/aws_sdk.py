"""``aws-sdk:*`` tasks: results as JSON, parameters in PascalCase, error names as on AWS.

- **Results** carry timestamps as ISO-8601 UTC strings (``2024-05-08T15:16:43Z``, as the Java SDK
  that AWS uses prints them), streamed bodies as text and blobs as base64, so that later states
  and ``DescribeExecution`` see JSON (moto 5.2.5 kept ``datetime`` objects).
- **Parameters** are taken in PascalCase and mapped to the API's member names (SQS CreateQueue's
  ``Tags`` is the member ``tags``); moto's ``_normalise_parameters`` is a no-op, so botocore
  refused such calls with a KeyError. Null members are left unset (:mod:`.requests`).
- **Error names** use the service prefix AWS uses (``Ec2.Ec2Exception``,
  ``S3.NoSuchKeyException``); moto wrote ``ec2.ec2Exception``, which no Catch written for AWS
  matches.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from tapcase.localcloud.patching import Patch, install
from tapcase.localcloud.sfn import requests

_AWS_SDK = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk"

RESULTS = Patch(
    target=f"{_AWS_SDK}:StateTaskServiceAwsSdk._eval_service_task",
    fixes="aws-sdk results are JSON: ISO-8601 timestamps, text bodies, base64 blobs",
    relies_on="_eval_service_task pushes the boto3 response (ResponseMetadata removed) on env.stack",
    watch={f"{_AWS_SDK}:StateTaskServiceAwsSdk._eval_service_task": "e68dc9e06e6a"},
)
PARAMETERS = Patch(
    target=f"{_AWS_SDK}:StateTaskServiceAwsSdk._normalise_parameters",
    fixes="aws-sdk parameters in PascalCase reach the API under its member names (SQS tags); "
    "null members are left unset",
    relies_on="StateTaskService._before_eval_execution calls _normalise_parameters(parameters) to "
    "convert in place; _to_boto_request(parameters, input_shape) renames members",
    watch={
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service"
        ":StateTaskService._normalise_parameters": "dece59e76fd5",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service"
        ":StateTaskService._to_boto_request": "3d3ae0c7923f",
    },
)
ERROR_NAMES = Patch(
    target=f"{_AWS_SDK}:StateTaskServiceAwsSdk._normalise_service_error_name",
    fixes="aws-sdk errors are named <Service>.<Name>Exception with AWS's prefix (Ec2, S3, Sqs)",
    relies_on="_from_error builds the error name from _normalise_service_error_name(api_name) and "
    "the ClientError's class name",
    watch={
        f"{_AWS_SDK}:StateTaskServiceAwsSdk._normalise_service_error_name": "7fccfad3463f",
        f"{_AWS_SDK}:StateTaskServiceAwsSdk._from_error": "43def989ab25",
    },
)


# -- results ----------------------------------------------------------------------------------


def _instant(value: datetime.datetime) -> str:
    """A timestamp as Java's ``Instant.toString()`` prints it: UTC, ``Z``, 0/3/6 fraction digits."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    value = value.astimezone(datetime.UTC)
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


# -- parameters -------------------------------------------------------------------------------

_SERVICE_MODELS: dict[str, Any] = {}


def service_model(service: str) -> Any:
    """botocore's model of a service (cached)."""
    if service not in _SERVICE_MODELS:
        import botocore.session

        _SERVICE_MODELS[service] = botocore.session.get_session().get_service_model(service)
    return _SERVICE_MODELS[service]


def _snake(name: str) -> str:
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    return str(camel_to_snake_case(name))


def _normalise_parameters(
    self: Any,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    service = self._get_boto_service_name(boto_service_name)
    action = self._get_boto_service_action(service_action_name)
    model = service_model(service)
    operation = next((o for o in model.operation_names if _snake(o) == action), None)
    if operation is not None:
        input_shape = model.operation_model(operation).input_shape
        # Null members are left unset, as AWS's Java SDK does (moto would send the text "null").
        cleaned = requests.without_nulls(parameters, input_shape)
        parameters.clear()
        parameters.update(cleaned)
        self._to_boto_request(parameters, input_shape)


# -- error names ------------------------------------------------------------------------------

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


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    original_eval = StateTaskServiceAwsSdk._eval_service_task

    def _eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original_eval(self, env, *args, **kwargs)
        env.stack[-1] = aws_sdk_json(env.stack[-1])

    install(RESULTS, _eval_service_task)
    install(PARAMETERS, _normalise_parameters)
    install(ERROR_NAMES, staticmethod(sdk_service_error_name))
