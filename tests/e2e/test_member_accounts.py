"""Member accounts end to end (issue 14 item 1): two simulated accounts on the local cloud.

The stack runs in the administrator account (A, the local cloud's own) with ``MemberAccounts`` =
B; B runs the member template (``sensor_image/member/member.yaml``, deployed as a StackSet would).
A GuardDuty delegated administrator receives B's findings with ``detail.accountId`` = B: the
investigation acts in B through B's member role (the state machine's tasks with their
``Credentials`` field, the functions through AssumeRole), its sensor, mirror resources and control
queue live in B, the evidence and the report land in A's bucket, and nothing is left in either
account. A finding of an account that is not allowed is refused before anything is created
anywhere; an execution stopped in B is torn down in B by the janitor.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tapcase.localcloud.cloud import ACCOUNT_ID
from tapcase.localcloud.seed import seed_instance
from tapcase.scenario import generate
from tapcase_contract.layout import evidence_prefix
from tapcase_contract.tags import INVESTIGATION_ID as TAG_KEY
from tapcase_workflow.logic.request import normalise
from tests.conftest import REPO, wait_for_execution
from tests.e2e.conftest import TIME_SCALE, investigation_leftovers, make_instance, wait_for_no_leftovers

MEMBER = "222222222222"
STRANGER = "333333333333"


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    with LocalCloud(time_scale=TIME_SCALE, parameters={"MemberAccounts": MEMBER, "SecurityHubEntry": "true"}) as local:
        local.deploy_member_account(MEMBER)
        yield local


def _finding(account: str) -> dict:
    event = json.loads((REPO / "samples" / "findings" / "c2-dns.json").read_text())
    event["account"] = ACCOUNT_ID  # delivered in the administrator account
    event["detail"]["accountId"] = account  # about the member's instance
    return event



def _tagged(cloud, account: str | None) -> dict[str, int]:
    """Everything the workflow could create in one account, found by tapcase's tag key."""
    ec2 = cloud.client("ec2", account=account)
    tagged = [{"Name": "tag-key", "Values": [TAG_KEY]}]
    live = [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    return {
        "security_groups": len(ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]),
        "instances": sum(len(r["Instances"]) for r in ec2.describe_instances(Filters=[*tagged, *live])["Reservations"]),
        "filters": len(ec2.describe_traffic_mirror_filters(Filters=tagged)["TrafficMirrorFilters"]),
        "targets": len(ec2.describe_traffic_mirror_targets(Filters=tagged)["TrafficMirrorTargets"]),
        "sessions": len(ec2.describe_traffic_mirror_sessions(Filters=tagged)["TrafficMirrorSessions"]),
        "queues": len(cloud.client("sqs", account=account).list_queues(QueueNamePrefix="tapcase-").get("QueueUrls", [])),
    }


def start_member_finding(cloud, account: str, tmp_path) -> tuple[Any, dict, str]:
    """A c2-dns finding about an instance of ``account`` (seeded there, its traffic the capture),
    delivered to the administrator's state machine: the request, the instance, the execution."""
    from tapcase.localcloud import sensors

    generate("c2-dns", tmp_path / "c2-dns.pcap")
    event = _finding(account)
    details = event["detail"]["resource"]["instanceDetails"]
    seed_instance(cloud.client("ec2", account=account), details, cloud.region)
    sensors.set_capture(tmp_path / "c2-dns.pcap")
    request = normalise(event)
    arn = cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.resource("InvestigationStateMachine"), name=request.investigation_id,
        input=json.dumps(event))["executionArn"]
    return request, details, arn


def test_a_members_finding_is_investigated_in_the_member_account_with_evidence_in_the_administrators_bucket(
        cloud, tmp_path):
    request, details, arn = start_member_finding(cloud, MEMBER, tmp_path)
    assert not cloud.client("ec2").describe_instances(
        Filters=[{"Name": "instance-id", "Values": [details["instanceId"]]}])["Reservations"]  # only in B
    sfn = cloud.client("stepfunctions")
    done = wait_for_execution(sfn, arn, timeout=120)
    assert done["status"] == "SUCCEEDED", (done.get("error"), done.get("cause"))
    output = json.loads(done["output"])
    assert output["status"] == "succeeded", output

    # every task touching the suspect's account ran with B's member role
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    roles = {e["taskScheduledEventDetails"]["resource"].split(".")[0]: e["taskScheduledEventDetails"].get(
        "taskCredentials") for e in history if e["type"] == "TaskScheduled"}
    member_role = {"roleArn": f"arn:aws:iam::{MEMBER}:role/tapcase-member"}
    for resource in ("runInstances", "createTrafficMirrorSession", "createQueue", "sendMessage"):
        assert roles[resource] == member_role, (resource, roles)
    assert roles["invoke"] is None  # the functions are the stack's own (they assume the role themselves)

    # the sensor ran in B, not in A
    sensor_filter = [{"Name": f"tag:{TAG_KEY}", "Values": [request.investigation_id]},
                     {"Name": "tag:tapcase:role", "Values": ["sensor"]}]
    in_member = cloud.client("ec2", account=MEMBER).describe_instances(Filters=sensor_filter)["Reservations"]
    assert [i["State"]["Name"] for r in in_member for i in r["Instances"]] == ["terminated"]
    assert not cloud.client("ec2").describe_instances(Filters=sensor_filter)["Reservations"]

    # the evidence and the report are in the administrator's bucket
    bucket = cloud.resource("EvidenceBucket")
    keys = [o["Key"] for o in cloud.client("s3").list_objects_v2(
        Bucket=bucket, Prefix=f"{evidence_prefix(request.investigation_id)}/")["Contents"]]
    assert f"{evidence_prefix(request.investigation_id)}/raw/manifest.json" in keys
    assert any(k.endswith("/report/report.json") for k in keys)
    report = json.loads(cloud.client("s3").get_object(
        Bucket=bucket, Key=f"{evidence_prefix(request.investigation_id)}/report/report.json")["Body"].read())
    assert "nothing_stood_out" != report["verdict"]["assessment"], report["verdict"]
    # and it says which account the instance lives in: the title and the capture facts
    assert report["capture"]["account"] == {"id": MEMBER, "member": True}
    assert details["instanceId"] in report["title"] and report["title"].endswith(f" in account {MEMBER}"), report["title"]
    markdown = cloud.client("s3").get_object(
        Bucket=bucket, Key=f"{evidence_prefix(request.investigation_id)}/report/report.md")["Body"].read().decode()
    assert f"- **Account**: {MEMBER} (member account)" in markdown

    # the sensor in B answered A's task tokens as A's principal: through a session of A's answer
    # role (tapcase_sensor.answers), assumed with B's sensor role
    assert _answer_sessions(request.investigation_id) == [f"tapcase-sensor-{request.investigation_id}"]

    # nothing left in either account
    for account in (MEMBER, None):
        left = investigation_leftovers(cloud, request.investigation_id, details["instanceId"], account=account)
        assert not any(left.values()), (account, left)


ANSWER_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/tapcase-member-answer"


def _answer_sessions(investigation_id: str) -> list[str]:
    """The sessions of the administrator's answer role made for one investigation's sensor."""
    from moto.sts.models import sts_backends

    return [r.session_name for r in list(sts_backends[ACCOUNT_ID]["aws"].assumed_roles)
            if r.role_arn == ANSWER_ROLE and r.session_name.endswith(investigation_id)]


def _assume_answer_role_as(cloud, role_arn: str) -> dict:
    """AssumeRole on the answer role signed by a session of ``role_arn`` (as an instance with that
    profile role would sign): the credentials, or STS's error."""
    import boto3
    from botocore.exceptions import ClientError

    from tapcase.localcloud.service_sessions import session_of

    keys = session_of(role_arn, "i-0trustcheck")
    sts = boto3.client("sts", region_name=cloud.region, endpoint_url=cloud.endpoint, **keys.client_kwargs())
    try:
        return sts.assume_role(RoleArn=ANSWER_ROLE, RoleSessionName="trust-check")["Credentials"]
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"], "status": exc.response["ResponseMetadata"]["HTTPStatusCode"],
                "message": exc.response["Error"]["Message"]}


def test_the_answer_role_trusts_the_sensor_roles_of_the_allowed_accounts_only(cloud):
    """SensorAnswerRole (template.yaml): Principal = this account and MemberAccounts, condition
    ``aws:PrincipalArn`` = ``arn:aws:iam::*:role/<MemberRoleName>-sensor``. STS AssumeRole (API
    reference, Errors): a caller the trust policy does not allow gets ``AccessDenied``, HTTP 403."""
    iam_stranger = cloud.client("iam", account=STRANGER)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    try:
        iam_stranger.create_role(RoleName="tapcase-member-sensor", AssumeRolePolicyDocument=json.dumps(trust))
    except iam_stranger.exceptions.EntityAlreadyExistsException:
        pass
    allowed = {f"arn:aws:iam::{MEMBER}:role/tapcase-member-sensor", f"arn:aws:iam::{ACCOUNT_ID}:role/tapcase-member-sensor"}
    refused = {f"arn:aws:iam::{MEMBER}:role/tapcase-member",  # the member role: not a sensor
               f"arn:aws:iam::{STRANGER}:role/tapcase-member-sensor"}  # a sensor role of an account not allowed
    for role in allowed:
        assert "SessionToken" in _assume_answer_role_as(cloud, role), role
    for role in refused:
        answer = _assume_answer_role_as(cloud, role)
        assert answer["error"] == "AccessDenied" and answer["status"] == 403, (role, answer)
        assert "is not authorized to perform: sts:AssumeRole" in answer["message"]


def test_the_answer_roles_session_answers_in_the_administrators_account(cloud):
    """A token of A's state machine is A's: the answer role's session reaches A's Step Functions
    (an unknown token is ``InvalidToken`` there); its caller identity is A's. What the role may do
    (the three answer actions, nothing else) is tests/test_iam.py's exact check."""
    import boto3

    credentials = _assume_answer_role_as(cloud, f"arn:aws:iam::{MEMBER}:role/tapcase-member-sensor")
    sfn = boto3.client("stepfunctions", region_name=cloud.region, endpoint_url=cloud.endpoint,
                       aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                       aws_session_token=credentials["SessionToken"])
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_success(taskToken="not-a-token", output="{}")
    identity = boto3.client("sts", region_name=cloud.region, endpoint_url=cloud.endpoint,
                            aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"]).get_caller_identity()
    assert identity["Account"] == ACCOUNT_ID
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/tapcase-member-answer/trust-check"


def test_a_finding_of_an_account_not_allowed_is_refused_with_nothing_created_in_either_account(cloud):
    before = {account: _tagged(cloud, account) for account in (None, MEMBER, STRANGER)}
    event = _finding(STRANGER)
    sfn = cloud.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=cloud.resource("InvestigationStateMachine"), name="stranger",
                              input=json.dumps(event))["executionArn"]
    done = wait_for_execution(sfn, arn, timeout=120)
    assert (done["status"], done["error"]) == ("FAILED", "FindingFromAnotherAccount")
    assert f"about account {STRANGER}, this stack acts in {ACCOUNT_ID} and its MemberAccounts ({MEMBER})" \
        in done["cause"]
    assert {account: _tagged(cloud, account) for account in (None, MEMBER, STRANGER)} == before
    locks = cloud.client("dynamodb").scan(TableName=cloud.resource("LockTable"))["Items"]
    assert not [i for i in locks if "stranger" in json.dumps(i)]


def test_a_dry_run_in_a_member_account_shows_the_account_and_creates_nothing(cloud):
    instance = make_instance(cloud, cidr="10.41", account=MEMBER)["instance_id"]
    sfn = cloud.client("stepfunctions")
    before = _tagged(cloud, MEMBER)
    arn = sfn.start_execution(stateMachineArn=cloud.resource("InvestigationStateMachine"), name="member-dry-run",
                              input=json.dumps({"instance_id": instance, "account_id": MEMBER,
                                                "dry_run": True}))["executionArn"]
    done = wait_for_execution(sfn, arn, timeout=120)
    assert done["status"] == "SUCCEEDED", done
    plans = json.loads(done["output"])["plans"]
    assert [(p["account_id"], p["instance_id"]) for p in plans] == [(MEMBER, instance)]
    assert _tagged(cloud, MEMBER) == before


def test_an_execution_stopped_in_a_member_account_is_torn_down_there_by_the_janitor(cloud):
    from tests.e2e.test_fault_table import _entered

    instance = make_instance(cloud, cidr="10.42", account=MEMBER)["instance_id"]
    sfn = cloud.client("stepfunctions")
    name = "member-stopped"
    arn = sfn.start_execution(stateMachineArn=cloud.resource("InvestigationStateMachine"), name=name,
                              input=json.dumps({"instance_id": instance, "account_id": MEMBER,
                                                "duration_seconds": 3600}))["executionArn"]
    _entered(sfn, arn, "Capture")
    assert any(investigation_leftovers(cloud, name, instance, account=MEMBER).values())
    assert not any(v for k, v in investigation_leftovers(cloud, name, instance).items() if k != "locks")
    sfn.stop_execution(executionArn=arn, error="Analyst.Stopped", cause="stopped in the member account")
    left = wait_for_no_leftovers(cloud, name, instance, timeout=60, account=MEMBER)
    assert not any(left.values()), left


def _twin_details(instance: str) -> dict:
    """An instance the same id names in both accounts (EC2 does not promise ids unique across them)."""
    return {"instanceId": instance, "instanceType": "m5.large", "availabilityZone": "us-east-1a",
            "networkInterfaces": [{"networkInterfaceId": "eni-0c0ffee0c0ffee001", "privateIpAddress": "10.43.1.25",
                                   "subnetId": "subnet-0c0ffee0c0ffee001", "vpcId": "vpc-0c0ffee0c0ffee001"}]}


def test_the_same_instance_id_in_two_accounts_is_investigated_at_once_and_each_locked_once(cloud):
    """The lock is keyed by (account, instance): an instance of the administrator's account and one
    of the member's with the same id are investigated at the same time, each holding its own lock;
    the same (account, instance) asked again ends "already under investigation"."""
    from tapcase_workflow.logic.accounts import lock_key
    from tests.e2e.test_fault_table import _entered

    instance = "i-0c0ffee0c0ffee001"
    for account in (None, MEMBER):
        seed_instance(cloud.client("ec2", account=account), _twin_details(instance), cloud.region)
    sfn = cloud.client("stepfunctions")
    machine = cloud.resource("InvestigationStateMachine")

    def start(name: str, **extra: object) -> str:
        body = {"instance_id": instance, "duration_seconds": 3600, **extra}
        return sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(body))["executionArn"]

    own, member = start("twin-admin"), start("twin-member", account_id=MEMBER)
    for arn in (own, member):
        _entered(sfn, arn, "Capture")  # both past Lock, at the same time
    table = cloud.resource("LockTable")
    held = {i["instance_id"]["S"]: i["investigation_id"]["S"]
            for i in cloud.client("dynamodb").scan(TableName=table)["Items"] if instance in i["instance_id"]["S"]}
    assert held == {lock_key(ACCOUNT_ID, instance): "twin-admin", lock_key(MEMBER, instance): "twin-member"}

    again = wait_for_execution(sfn, start("twin-member-again", account_id=MEMBER), timeout=120)
    assert again["status"] == "SUCCEEDED", again
    assert json.loads(again["output"]) == {"status": "already_under_investigation", "instance_id": instance,
                                           "investigation_id": "twin-member-again"}

    for arn in (own, member):
        sfn.stop_execution(executionArn=arn, error="Analyst.Stopped", cause="two locks seen")
    for name, account in (("twin-admin", None), ("twin-member", MEMBER)):
        left = wait_for_no_leftovers(cloud, name, instance, timeout=60, account=account)
        assert not any(left.values()), (account, left)


def _started_since(sfn, machine: str, before: set[str], source: str, timeout: float = 30.0) -> str:
    """The execution an EventBridge rule started for an event of ``source`` (its input is the event)."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
            arn = execution["executionArn"]
            if arn not in before and json.loads(sfn.describe_execution(executionArn=arn)["input"]).get("source") == source:
                return arn
        time.sleep(0.1)
    raise AssertionError(f"no execution started for an event of {source}")


def test_a_members_finding_from_security_hub_is_one_investigation_in_the_member_account(cloud, tmp_path):
    """SecurityHubEntry: the aggregation account (A) receives B's GuardDuty finding in ASFF and
    Security Hub puts it on A's bus as "Security Hub Findings - Imported"; the SecurityHubRule starts
    the investigation, which acts in B. GuardDuty's own event of the same finding (the TriggerRule
    matches MemberAccounts' findings too) starts a second execution: the same investigation id and
    lock key, so it ends "already under investigation", and the finding is investigated once."""
    from tapcase.localcloud import sensors
    from tapcase.localcloud.securityhub.from_guardduty import asff_from_guardduty, imported_event
    from tests.e2e.test_fault_table import _entered

    generate("beaconing", tmp_path / "beaconing.pcap")
    guardduty = json.loads((REPO / "samples" / "findings" / "beaconing.json").read_text())
    detail = guardduty["detail"]
    detail["accountId"], detail["arn"] = MEMBER, detail["arn"].replace(":123456789012:", f":{MEMBER}:")
    seed_instance(cloud.client("ec2", account=MEMBER), detail["resource"]["instanceDetails"], cloud.region)
    sensors.set_capture(tmp_path / "beaconing.pcap")
    hub = imported_event([asff_from_guardduty(detail)], ACCOUNT_ID, cloud.region)
    sfn, events = cloud.client("stepfunctions"), cloud.client("events")
    machine = cloud.resource("InvestigationStateMachine")
    before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}

    sent = events.put_events(Entries=[{"Source": hub["source"], "DetailType": hub["detail-type"],
                                       "Resources": hub["resources"], "Detail": json.dumps(hub["detail"])}])
    assert sent["FailedEntryCount"] == 0
    via_hub = _started_since(sfn, machine, before, "aws.securityhub")
    _entered(sfn, via_hub, "Capture")
    sent = events.put_events(Entries=[{"Source": "aws.guardduty", "DetailType": "GuardDuty Finding",
                                       "Detail": json.dumps(detail)}])
    assert sent["FailedEntryCount"] == 0
    via_guardduty = _started_since(sfn, machine, before | {via_hub}, "aws.guardduty")

    second = wait_for_execution(sfn, via_guardduty, timeout=120)
    first = wait_for_execution(sfn, via_hub, timeout=120)
    assert first["status"] == "SUCCEEDED", (first.get("error"), first.get("cause"))
    output = json.loads(first["output"])
    request = normalise(guardduty)
    assert (output["status"], output["investigation_id"]) == ("succeeded", request.investigation_id)
    assert json.loads(second["output"]) == {"status": "already_under_investigation", "instance_id": request.instance_id,
                                            "investigation_id": request.investigation_id}
    report = json.loads(cloud.client("s3").get_object(
        Bucket=cloud.resource("EvidenceBucket"),
        Key=f"{evidence_prefix(request.investigation_id)}/report/report.json")["Body"].read())
    assert report["verdict"]["assessment"] != "nothing_stood_out", report["verdict"]
    for account in (MEMBER, None):
        left = investigation_leftovers(cloud, request.investigation_id, request.instance_id, account=account)
        assert not any(left.values()), (account, left)


def test_the_janitor_command_sweeps_every_allowed_account_and_says_what_it_found_in_each(cloud):
    """``tapcase janitor`` (as the scheduled janitor) looks in the stack's account and in each of its
    MemberAccounts through the member role; ``--account`` limits it to some; an account that is not
    the stack's is refused."""
    from typer.testing import CliRunner

    from tapcase.cli import app
    from tapcase_contract import tags

    orphan = "orphan-in-member"
    vpc = cloud.client("ec2", account=MEMBER).create_vpc(CidrBlock="10.44.0.0/16")["Vpc"]["VpcId"]
    cloud.client("ec2", account=MEMBER).create_security_group(
        GroupName=f"tapcase-{orphan}", Description="planted", VpcId=vpc, TagSpecifications=[{
            "ResourceType": "security-group", "Tags": [{"Key": tags.INVESTIGATION_ID, "Value": orphan},
                                                       {"Key": tags.STARTED_AT, "Value": str(int(time.time()) - 300)}]}])
    # 5 minutes old: the CLI's --older-than 1m takes it, the scheduled janitor (JANITOR_MIN_AGE_SECONDS
    # 900) running in this cloud at the same time leaves it alone

    def janitor(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["janitor", "--endpoint", cloud.endpoint, *args])
        out = result.stdout if "--json" in args else result.output
        # the in-process Lambda functions of this cloud may log meanwhile: not the command's output
        return result.exit_code, "\n".join(line for line in out.splitlines() if not line.startswith('{"level"'))

    code, out = janitor("--json", "--dry-run", "--older-than", "1m")
    assert code == 0, out
    listed = json.loads(out)
    assert set(listed["accounts"]) == {ACCOUNT_ID, MEMBER} and listed["accounts"][MEMBER] == [orphan], listed
    assert listed["investigations"][orphan] == {"security_groups": 1}
    code, out = janitor("--dry-run", "--older-than", "1m", "--account", MEMBER)
    assert code == 0 and f"account {MEMBER}: 1 investigation run(s) found" in out and ACCOUNT_ID not in out, out
    assert f"would remove {orphan}: 1 security_groups" in out
    code, out = janitor("--json", "--older-than", "1m", "--account", MEMBER)
    assert code == 0 and json.loads(out)["accounts"] == {MEMBER: [orphan]}, out
    assert _tagged(cloud, MEMBER)["security_groups"] == 0
    code, out = janitor("--dry-run", "--account", STRANGER)
    assert code == 2 and f"--account {STRANGER}: not one of the stack's accounts" in out, out


def test_the_investigate_command_names_the_account_and_its_dry_run_shows_it(cloud):
    """``tapcase investigate --account``: the request's account_id (a member's instance); the dry
    run plans it in that account and says so; an account the stack may not act in is refused."""
    from typer.testing import CliRunner

    from tapcase.cli import app

    instance = make_instance(cloud, cidr="10.45", account=MEMBER)["instance_id"]
    common = ["investigate", "--endpoint", cloud.endpoint, "--instance-id", instance, "--dry-run"]
    result = CliRunner().invoke(app, [*common, "--account", MEMBER])
    assert result.exit_code == 0, result.output
    assert f"plan for {instance} in account {MEMBER}" in result.output
    result = CliRunner().invoke(app, [*common, "--account", MEMBER, "--json"])
    plans = json.loads(result.stdout)["dry_run"]["plans"]
    assert [(p["account_id"], p["instance_id"]) for p in plans] == [(MEMBER, instance)]
    result = CliRunner().invoke(app, [*common, "--account", STRANGER, "--json"])
    assert "AccountNotAllowed" in result.stdout + result.output, result.output
    result = CliRunner().invoke(app, [*common, "--account", "12345"])
    assert result.exit_code != 0 and "account_id" in result.output, result.output
