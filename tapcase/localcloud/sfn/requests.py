"""What a Task's parameters become in the request Step Functions sends, and how services refuse it.

AWS builds each service request with the AWS SDK for Java from the Task's parameters: a member
whose value is ``null`` (``"Param.$"`` resolving to null) is left unset, and the *service*
validates the request. Recorded from AWS (LocalStack's ``test_aws_sdk.snapshot.json``,
``test_dynamodb_invalid_param``, 2023): ``aws-sdk:dynamodb:putItem`` with ``"Item": null`` fails
``DynamoDb.DynamoDbException`` -- "1 validation error detected: Value null at 'item' failed to
satisfy constraint: Member must not be null (Service: DynamoDb, Status Code: 400, …)" -- a
TaskFailed that Retry and Catch handle. moto 5.2.5 handed the null to botocore, which sent
``"None"``/``null`` or crashed, and a crash ends the execution in an uncatchable ``States.Runtime``.

Here null members of structures (at any depth) are left out of the request -- in an
aws-sdk task before moto maps its parameters to the API (:mod:`.aws_sdk`; moto turned a null
string into the text ``"null"``), and in every call of the interpreter's clients (:mod:`.clients`);
a required top-level member left out is refused as the service refuses it, with the error format
of its protocol:

- JSON services (DynamoDB, Athena, Step Functions…): ``ValidationException``, "N validation
  error(s) detected: Value null at '<member>' failed to satisfy constraint: Member must not be
  null" (the recorded format; members in lowerCamelCase, joined by "; ").
- EC2 and query services: ``MissingParameter``, "The request must contain the parameter
  <Name>" (EC2 API error codes: MissingParameter, "The request is missing a required parameter");
  SQS, a JSON service compatible with its query API, answers the same with a final period.

REST services (Lambda, S3) are left to the local service: whether the SDK or the service refuses
a missing URI member there is not recorded. Nulls in lists and map values, and inside a JSON
value given for a string member (an SQS message body), are passed as they are.
"""

from __future__ import annotations

import uuid
from typing import Any


def _member_shapes(shape: Any) -> dict[str, Any]:
    """A structure's members by snake_case name: parameters may be in PascalCase or API case."""
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    return {camel_to_snake_case(name): member for name, member in shape.members.items()}


def without_nulls(value: Any, shape: Any) -> Any:
    """``value`` with the null members of its structures left out, at any depth, as the Java SDK
    leaves them unset. Values of string or blob members (a JSON body) are kept as they are."""
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        members = _member_shapes(shape)
        return {
            key: without_nulls(item, members.get(camel_to_snake_case(key)))
            for key, item in value.items()
            if item is not None
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [without_nulls(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: without_nulls(item, shape.value) for key, item in value.items()}
    return value


def refusal(operation: Any, params: dict[str, Any]) -> tuple[str, str] | None:
    """``(code, message)`` the service answers for required members missing from ``params``."""
    input_shape = operation.input_shape
    if input_shape is None:
        return None
    missing = [name for name in input_shape.required_members if params.get(name) is None]
    if not missing:
        return None
    service = operation.service_model
    protocol = service.protocol
    if protocol == "json" and "awsQueryCompatible" in service.metadata:
        return "MissingParameter", f"The request must contain the parameter {missing[0]}."
    if protocol in ("ec2", "query"):
        wire_name = input_shape.members[missing[0]].serialization.get("name", missing[0])
        return "MissingParameter", f"The request must contain the parameter {wire_name}"
    if protocol == "json":
        count = len(missing)
        details = "; ".join(
            f"Value null at '{name[:1].lower()}{name[1:]}' failed to satisfy constraint: Member must not be null"
            for name in missing
        )
        return "ValidationException", f"{count} validation error{'s' if count > 1 else ''} detected: {details}"
    return None


def register(client: Any) -> None:
    """Makes ``client`` send requests as Step Functions does and refuse what the service refuses."""

    def before_parameter_build(params: dict[str, Any], model: Any, **_: Any) -> None:
        cleaned = without_nulls(params, model.input_shape)
        params.clear()
        params.update(cleaned)
        refused = refusal(model, params)
        if refused is None:
            return
        code, message = refused
        error_class = client.exceptions.from_code(code)
        raise error_class(
            {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": str(uuid.uuid4())},
            },
            model.name,
        )

    client.meta.events.register_first(
        f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}", before_parameter_build
    )

