"""How a sensor answers its task tokens (tapcase_sensor.answers): through a session of the stack's
answer role, never with its own credentials when its config names the role.

AWS facts reproduced: AssumeRole with a role session's credentials is role chaining, capped at one
hour (STS API reference, AssumeRole ``DurationSeconds``); ``RoleSessionName`` is 2 to 64 characters;
a refused AssumeRole answers ``AccessDenied``. The local cloud's part (the role's trust judging the
sensor's instance-profile role, member accounts) is tested end to end in
tests/e2e/test_member_accounts.py.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tapcase_contract import ContractError
from tapcase_contract.control import WAIT_FOR_SENSOR
from tapcase_contract.sensor_config import SensorConfig
from tapcase_sensor import answers
from tapcase_sensor.agent import Agent, AwsClients
from tapcase_sensor.answers import RENEW_BEFORE, SESSION_SECONDS, AnswerSession, session_name
from tapcase_sensor.errors import SensorAnswerRoleRefused
from tapcase_sensor.model import EngineStatus

ROLE = "arn:aws:iam::111111111111:role/tapcase-member-answer"
INVESTIGATION = "inv-answers-1"
T0 = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


class FakeSts:
    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refuse = refuse
        self.now = T0

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.refuse:
            raise ClientError({"Error": {"Code": self.refuse, "Message": "User: arn:aws:sts::222222222222:assumed-role/"
                               "x/i-1 is not authorized to perform: sts:AssumeRole"}}, "AssumeRole")
        n = len(self.calls)
        return {"Credentials": {"AccessKeyId": f"ASIAANSWER{n:04d}", "SecretAccessKey": "secret", "SessionToken": "token",
                                "Expiration": self.now + datetime.timedelta(seconds=kwargs["DurationSeconds"])}}


class FakeSfn:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("send_task_"):
            raise AttributeError(name)
        return lambda **kwargs: self.calls.append((name, kwargs))


class ReadyEngines:
    mode = "offline"

    def start(self) -> None:
        pass

    def wait_ready(self, timeout: float) -> EngineStatus:
        return EngineStatus(ready=True, engines={"suricata": {"version": "7"}}, vxlan_seen=False, vxlan_packets=0,
                            packets_seen=0)


def _key_of(client: Any) -> str:
    return str(client._request_signer._credentials.access_key)


def test_the_answer_client_signs_with_the_assumed_session_and_is_renewed_before_it_expires():
    sts = FakeSts()
    clock = {"now": T0}
    session = AnswerSession(sts, ROLE, session_name(INVESTIGATION), {"region_name": "us-east-1"},
                            now=lambda: clock["now"])
    first = session.client()
    assert _key_of(first) == "ASIAANSWER0001"
    assert sts.calls == [{"RoleArn": ROLE, "RoleSessionName": f"tapcase-sensor-{INVESTIGATION}",
                          "DurationSeconds": 3600}]
    # reused while the session has more than five minutes left
    clock["now"] = T0 + datetime.timedelta(seconds=SESSION_SECONDS) - RENEW_BEFORE - datetime.timedelta(seconds=1)
    assert session.client() is first and len(sts.calls) == 1
    # assumed again from then on (role chaining: an hour at most, so a long capture renews)
    clock["now"] += datetime.timedelta(seconds=1)
    sts.now = clock["now"]
    assert _key_of(session.client()) == "ASIAANSWER0002" and len(sts.calls) == 2


def test_the_session_name_fits_sts_limit():
    assert len(session_name("a" * 48)) <= answers.MAX_SESSION_NAME
    assert session_name("x1") == "tapcase-sensor-x1"


@pytest.mark.parametrize("code", ["AccessDenied", "NoSuchEntity"])
def test_a_refused_answer_role_is_a_typed_error_naming_the_role(code):
    session = AnswerSession(FakeSts(refuse=code), ROLE, "s", {"region_name": "us-east-1"})
    with pytest.raises(SensorAnswerRoleRefused) as raised:
        session.client()
    assert ROLE in str(raised.value) and code in str(raised.value) and "member template" in str(raised.value)


def test_a_throttled_assume_role_is_left_to_the_retry_of_the_message():
    session = AnswerSession(FakeSts(refuse="Throttling"), ROLE, "s", {"region_name": "us-east-1"})
    with pytest.raises(ClientError):
        session.client()


def _agent(monkeypatch: pytest.MonkeyPatch, *, role: str | None, own: Any = None,
           refuse: str | None = None) -> tuple[Agent, FakeSfn, FakeSts]:
    assumed = FakeSfn()
    sts = FakeSts(refuse=refuse)

    def assume(self: AnswerSession) -> tuple[Any, datetime.datetime]:
        self.sts.assume_role(RoleArn=self.role_arn, RoleSessionName=self.name, DurationSeconds=SESSION_SECONDS)
        return assumed, datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)

    if refuse is None:
        monkeypatch.setattr(AnswerSession, "_assume", assume)
    config = SensorConfig(investigation_id=INVESTIGATION, bucket="evidence-bucket", control_queue_url="https://q/1",
                          answer_role_arn=role, heartbeat_seconds=0)
    return Agent(config, ReadyEngines(), AwsClients(sqs=None, s3=None, stepfunctions=own, sts=sts)), assumed, sts


def test_a_sensor_naming_an_answer_role_answers_only_through_it(monkeypatch):
    own = FakeSfn()
    agent, assumed, sts = _agent(monkeypatch, role=ROLE, own=own)
    outcome = agent.handle({"action": WAIT_FOR_SENSOR, "task_token": "tok-1", "investigation_id": INVESTIGATION})
    assert outcome.answer == "success" and outcome.delivered
    assert [name for name, _ in assumed.calls] == ["send_task_success"]
    assert assumed.calls[0][1]["taskToken"] == "tok-1"
    assert own.calls == []  # never with its own credentials
    assert [c["RoleArn"] for c in sts.calls] == [ROLE]


def test_without_an_answer_role_the_agent_answers_with_its_own_client(monkeypatch):
    own = FakeSfn()
    agent, assumed, sts = _agent(monkeypatch, role=None, own=own)
    agent.handle({"action": WAIT_FOR_SENSOR, "task_token": "tok-2", "investigation_id": INVESTIGATION})
    assert [name for name, _ in own.calls] == ["send_task_success"] and assumed.calls == [] and sts.calls == []


class OneMessageSqs:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.deleted: list[str] = []

    def receive_message(self, **_: Any) -> dict[str, Any]:
        return {"Messages": [{"Body": json.dumps(self.body), "ReceiptHandle": "rh-1"}]}

    def delete_message(self, **kwargs: Any) -> None:
        self.deleted.append(kwargs["ReceiptHandle"])


def test_a_refused_answer_role_keeps_the_message_for_a_retry(monkeypatch):
    agent, _, sts = _agent(monkeypatch, role=ROLE, refuse="AccessDenied")
    sqs = OneMessageSqs({"action": WAIT_FOR_SENSOR, "task_token": "tok-3", "investigation_id": INVESTIGATION})
    agent.clients.sqs = sqs
    assert agent.poll_once(wait_seconds=0) == []
    assert sqs.deleted == [] and len(sts.calls) == 1


@pytest.mark.parametrize("value", ["tapcase-member-answer", "arn:aws:iam::1234:role/x", "arn:aws:sts::111111111111:role/x"])
def test_the_config_refuses_an_answer_role_that_is_not_a_role_arn(value):
    with pytest.raises(ContractError, match="answer_role_arn"):
        SensorConfig(investigation_id=INVESTIGATION, bucket="evidence-bucket", control_queue_url="https://q/1",
                     answer_role_arn=value)
