"""The traffic-mirroring API table (tapcase.localcloud.mirroring.actions) is AWS's, and every action
refuses bad parameters as EC2 does, creating nothing.

- The table matches the EC2 API model botocore ships (the model AWS publishes its API reference
  from): the same actions, parameters, required parameters and enum values; ``MaxResults`` 5-1000.
- Every action answers ``DryRun`` with ``DryRunOperation`` (HTTP 412) and does nothing.
- A required parameter left out is ``MissingParameter`` naming it ("The request is missing a
  required parameter", EC2 common client errors); botocore checks this on the client, the Step
  Functions interpreter's clients do not (``parameter_validation=False`` here, as there).
- A value that is not an integer, out of its range, not among its choices, or not a CIDR block is
  ``InvalidParameterValue`` ("A value specified in a parameter is not valid") naming the parameter.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tapcase.localcloud.cloud import LocalCloud
from tapcase.localcloud.mirroring.actions import ACTIONS, TABLE, Action
from tapcase.localcloud.mirroring.params import Kind, Param, integer_keys

SAMPLE_CIDR = "10.0.0.0/8"


# --- the table against the EC2 API model -------------------------------------------------------------
EC2_MODEL = botocore.session.get_session().get_service_model("ec2")


def test_the_table_has_every_traffic_mirroring_action_of_the_ec2_api() -> None:
    assert {name for name in EC2_MODEL.operation_names if "TrafficMirror" in name} == set(ACTIONS)


@pytest.mark.parametrize("action", TABLE, ids=lambda a: a.name)
def test_each_row_matches_the_ec2_api_model(action: Action) -> None:
    shape = EC2_MODEL.operation_model(action.name).input_shape
    members = shape.members
    assert {p.name for p in action.params} | {"DryRun"} == set(members), "parameters"
    assert {p.name for p in action.params if p.required} == set(shape.required_members), "required"
    for param in action.params:
        member = members[param.name]
        if param.kind is Kind.CHOICE:
            assert list(param.choices) == member.enum, param.name
        elif param.kind is Kind.CHOICE_LIST:
            assert list(param.choices) == member.member.enum, param.name
        elif param.kind is Kind.INTEGER:
            assert member.type_name == "integer", param.name
            if "min" in member.metadata:
                assert (param.low, param.high) == (member.metadata["min"], member.metadata["max"]), param.name
        elif param.kind is Kind.PORT_RANGE:
            assert {k: v.type_name for k, v in member.members.items()} == {"FromPort": "integer", "ToPort": "integer"}
        elif param.kind in (Kind.ID_LIST, Kind.TAGS, Kind.FILTERS):
            assert member.type_name == "list", param.name
        else:
            assert member.type_name == "string", param.name


# --- the table's refusals, through the local cloud ----------------------------------------------------
@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as running:
        yield running


@pytest.fixture(scope="module")
def ec2(cloud: LocalCloud) -> Any:
    return cloud.client("ec2")


@pytest.fixture(scope="module")
def raw_ec2(cloud: LocalCloud) -> Any:
    """A client that skips botocore's parameter checks, like the Step Functions interpreter's."""
    return boto3.client(
        "ec2", region_name=cloud.region, endpoint_url=cloud.endpoint, aws_access_key_id="testing",
        aws_secret_access_key="testing", config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


def census(ec2: Any) -> tuple[int, int, int, int]:
    """How many filters, rules, targets and sessions the account holds."""
    return (
        len(ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"]),
        len(ec2.describe_traffic_mirror_filter_rules()["TrafficMirrorFilterRules"]),
        len(ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"]),
        len(ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]),
    )


def sample(param: Param) -> Any:
    """A value the table accepts for ``param``."""
    if param.kind is Kind.INTEGER:
        return param.low
    if param.kind is Kind.CHOICE:
        return param.choices[0]
    if param.kind is Kind.CIDR:
        return SAMPLE_CIDR
    return "tm-0123456789abcdef0"


def request(action: Action, **overrides: Any) -> dict[str, Any]:
    """The action's required parameters with accepted values, then ``overrides``."""
    params: dict[str, Any] = {p.name: sample(p) for p in action.params if p.required}
    return {**params, **overrides}


def refused(ec2: Any, raw_ec2: Any, code: str, action: Action, params: dict[str, Any]) -> dict[str, Any]:
    """Call ``action`` without client-side checks; expect ``code`` and no resource created."""
    before = census(ec2)
    with pytest.raises(ClientError) as caught:
        getattr(raw_ec2, action.method)(**params)
    error: dict[str, Any] = dict(caught.value.response["Error"])
    assert error["Code"] == code, error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == (412 if code == "DryRunOperation" else 400)
    assert census(ec2) == before
    return error


def cases(kinds: set[Kind]) -> list[Any]:
    return [pytest.param(a, p, id=f"{a.name}-{p.name}") for a in TABLE for p in a.params if p.kind in kinds]


@pytest.mark.parametrize("action", TABLE, ids=lambda a: a.name)
def test_every_action_answers_dry_run_and_does_nothing(ec2: Any, raw_ec2: Any, action: Action) -> None:
    refused(ec2, raw_ec2, "DryRunOperation", action, request(action, DryRun=True))


@pytest.mark.parametrize(
    ("action", "param"), [pytest.param(a, p, id=f"{a.name}-{p.name}") for a in TABLE for p in a.params if p.required]
)
def test_every_required_parameter_left_out_is_missing_parameter(
    ec2: Any, raw_ec2: Any, action: Action, param: Param
) -> None:
    params = request(action)
    del params[param.name]
    error = refused(ec2, raw_ec2, "MissingParameter", action, params)
    assert param.name in error["Message"]


@pytest.mark.parametrize(("action", "param"), cases({Kind.INTEGER}))
@pytest.mark.parametrize("side", ["below", "above"])
def test_every_integer_out_of_its_range_is_invalid(
    ec2: Any, raw_ec2: Any, action: Action, param: Param, side: str
) -> None:
    assert param.low is not None and param.high is not None
    value = param.low - 1 if side == "below" else param.high + 1
    error = refused(ec2, raw_ec2, "InvalidParameterValue", action, request(action, **{param.name: value}))
    assert f"parameter {param.name}" in error["Message"]


@pytest.mark.parametrize(("action", "param"), cases({Kind.PORT_RANGE}))
@pytest.mark.parametrize(
    "ports", [{"FromPort": 0, "ToPort": 65536}, {"FromPort": -1, "ToPort": 80}, {"FromPort": 90, "ToPort": 80}]
)
def test_every_port_range_out_of_range_or_reversed_is_invalid(
    ec2: Any, raw_ec2: Any, action: Action, param: Param, ports: dict[str, int]
) -> None:
    params = request(action, **{param.name: ports, "Protocol": 6})
    error = refused(ec2, raw_ec2, "InvalidParameterValue", action, params)
    assert f"parameter {param.name}" in error["Message"]


@pytest.mark.parametrize(("action", "param"), cases({Kind.CHOICE, Kind.CHOICE_LIST}))
def test_every_value_not_among_its_choices_is_invalid(ec2: Any, raw_ec2: Any, action: Action, param: Param) -> None:
    value: Any = ["no-such-choice"] if param.kind is Kind.CHOICE_LIST else "no-such-choice"
    error = refused(ec2, raw_ec2, "InvalidParameterValue", action, request(action, **{param.name: value}))
    assert f"parameter {param.item or param.name}" in error["Message"]
    assert ", ".join(param.choices) in error["Message"]


@pytest.mark.parametrize(("action", "param"), cases({Kind.CIDR}))
@pytest.mark.parametrize("value", ["not-a-cidr", "10.0.0.0/33", "300.1.2.3/8"])
def test_every_cidr_block_that_is_not_one_is_invalid(
    ec2: Any, raw_ec2: Any, action: Action, param: Param, value: str
) -> None:
    error = refused(ec2, raw_ec2, "InvalidParameterValue", action, request(action, **{param.name: value}))
    assert f"parameter {param.name}" in error["Message"]


def raw_call(cloud: LocalCloud, action: str, params: dict[str, str]) -> tuple[int, str, bytes]:
    """An EC2 Query request as any client sends it, whatever the values."""
    body = urllib.parse.urlencode({"Action": action, "Version": "2016-11-15", **params}).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ec2/aws4_request, "
                         "SignedHeaders=host, Signature=0",
    }
    try:
        with urllib.request.urlopen(urllib.request.Request(cloud.endpoint + "/", data=body, headers=headers),
                                    timeout=30) as response:  # noqa: S310 - local endpoint
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


@pytest.mark.parametrize(
    ("action", "key"), [pytest.param(a, k, id=f"{a.name}-{k}") for a in TABLE for k in integer_keys(a.params)]
)
def test_every_integer_that_does_not_parse_is_invalid_never_a_500(
    cloud: LocalCloud, ec2: Any, action: Action, key: str
) -> None:
    before = census(ec2)
    status, content_type, body = raw_call(cloud, action.name, {key: "abc"})
    assert status == 400 and "html" not in content_type, body[:300]
    error = {el.tag.rsplit("}", 1)[-1]: el.text for el in ET.fromstring(body).iter()}
    assert error.get("Code") == "InvalidParameterValue", body[:300]
    assert f"Value (abc) for parameter {key} is invalid" in str(error["Message"])
    assert census(ec2) == before
