"""Coverage mode end to end (issue 14 item 3): instances with the coverage tag are mirrored to the
sensor fleet all the time. On the local cloud EC2 sends its state and tag changes to EventBridge
(tapcase/localcloud/ec2_events.py), ``CoverageStateRule``/``CoverageTagRule`` invoke the real Coverage function, which
mirrors the instance's ENIs to the fleet's NLB target with the coverage VNI; a stop takes its
session away; with coverage switched off the schedule leaves nothing behind."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tapcase.localcloud import LocalCloud, sensors
from tapcase.localcloud import fleet as fleet_members
from tapcase.localcloud.deploy import TemplateError, deploy_template
from tapcase.localcloud.seed import seed_instance
from tapcase.scenario import generate
from tapcase.scenario.model import EPOCH
from tapcase_contract import tags as tag_keys
from tapcase_contract.coverage_logs import days_between
from tapcase_contract.limits import COVERAGE_SESSION_NUMBER, COVERAGE_VNI
from tests.conftest import REPO
from tests.e2e.conftest import TIME_SCALE, load_report, run
from tests.e2e.test_fleet import build_fleet, deploy, finding, launch_members

SELECTOR = {"CoverageTagKey": "coverage", "CoverageTagValue": "on"}
COVERED = [{"Key": "coverage", "Value": "on"}]


def fleet_beside_the_suspect(cloud: LocalCloud) -> dict[str, Any]:
    """The beaconing finding's instance seeded, and a fleet in its VPC (no tapcase stack yet)."""
    ec2 = cloud.client("ec2")
    seeded = seed_instance(ec2, finding("beaconing")["detail"]["resource"]["instanceDetails"], cloud.region)
    suspect = ec2.describe_instances(InstanceIds=[seeded["instance_id"]])["Reservations"][0]["Instances"][0]
    fleet = build_fleet(cloud, suspect["VpcId"])
    fleet["subnet_of_suspects"] = suspect["SubnetId"]
    fleet["suspect"] = seeded["instance_id"]
    return fleet


@pytest.fixture(scope="module")
def covered_cloud():
    with LocalCloud(time_scale=TIME_SCALE, template=None) as cloud:
        fleet = fleet_beside_the_suspect(cloud)
        deploy(cloud, FleetTargetId=fleet["target_id"], FleetControlQueueUrl=fleet["queue"], **SELECTOR)
        fleet["member_ids"] = launch_members(cloud, fleet)
        yield cloud, fleet


def until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    return check()


def coverage_sessions(cloud: LocalCloud) -> list[dict[str, Any]]:
    return cloud.client("ec2").describe_traffic_mirror_sessions(
        Filters=[{"Name": f"tag:{tag_keys.COVERAGE}", "Values": [tag_keys.COVERAGE_ON]}])["TrafficMirrorSessions"]


def coverage_filters(cloud: LocalCloud) -> list[dict[str, Any]]:
    return cloud.client("ec2").describe_traffic_mirror_filters(
        Filters=[{"Name": f"tag:{tag_keys.COVERAGE}", "Values": [tag_keys.COVERAGE_ON]}])["TrafficMirrorFilters"]


def sessions_of(cloud: LocalCloud, eni: str) -> list[dict[str, Any]]:
    return [s for s in coverage_sessions(cloud) if s["NetworkInterfaceId"] == eni]


def launch(cloud: LocalCloud, subnet: str, tags: list[dict[str, str]] | None = None) -> tuple[str, str]:
    ec2 = cloud.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    spec = [{"ResourceType": "instance", "Tags": tags}] if tags else []
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m5.large", SubnetId=subnet,
                                 TagSpecifications=spec)["Instances"][0]
    return instance["InstanceId"], instance["NetworkInterfaces"][0]["NetworkInterfaceId"]


def coverage(cloud: LocalCloud, event: dict[str, Any]) -> dict[str, Any]:
    """The Coverage function invoked as its rule or schedule invokes it (the answer, or the error)."""
    answer = cloud.client("lambda").invoke(FunctionName=cloud.resource("CoverageFunction"),
                                           Payload=json.dumps(event).encode())
    body = json.loads(answer["Payload"].read())
    return {"error": body} if "FunctionError" in answer else body


def scheduled(cloud: LocalCloud) -> dict[str, Any]:
    return {"version": "0", "id": "5a7c9f3e-0000-4000-8000-000000000000", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-01-01T00:00:00Z",
            "region": cloud.region, "resources": [], "detail": {}}


def test_a_newly_launched_tagged_instance_is_covered_and_dropped_when_stopped(covered_cloud):
    cloud, fleet = covered_cloud
    ec2 = cloud.client("ec2")
    iid, eni = launch(cloud, fleet["subnet_of_suspects"], COVERED)
    other, other_eni = launch(cloud, fleet["subnet_of_suspects"])  # untagged: never covered
    (session,) = until(lambda: sessions_of(cloud, eni))
    assert session["TrafficMirrorTargetId"] == fleet["target_id"]
    assert session["VirtualNetworkId"] == COVERAGE_VNI and session["SessionNumber"] == COVERAGE_SESSION_NUMBER
    assert {t["Key"]: t["Value"] for t in session["Tags"]} == {tag_keys.COVERAGE: tag_keys.COVERAGE_ON,
                                                              tag_keys.INSTANCE_ID: iid}
    (flt,) = coverage_filters(cloud)
    assert session["TrafficMirrorFilterId"] == flt["TrafficMirrorFilterId"] and flt["NetworkServices"] == ["amazon-dns"]
    assert len(flt["IngressFilterRules"]) == len(flt["EgressFilterRules"]) == 1
    assert sessions_of(cloud, other_eni) == []
    assert not any(s["NetworkInterfaceId"] in {other_eni} for s in coverage_sessions(cloud))

    ec2.stop_instances(InstanceIds=[iid])
    assert until(lambda: not sessions_of(cloud, eni)), "the stopped instance's session is still there"
    ec2.start_instances(InstanceIds=[iid])
    assert until(lambda: sessions_of(cloud, eni)), "the restarted instance is not covered again"
    ec2.terminate_instances(InstanceIds=[iid, other])
    assert until(lambda: not sessions_of(cloud, eni))


def test_tagging_a_running_instance_covers_it_and_untagging_drops_it(covered_cloud):
    cloud, fleet = covered_cloud
    ec2 = cloud.client("ec2")
    iid, eni = launch(cloud, fleet["subnet_of_suspects"])
    time.sleep(0.5)
    assert sessions_of(cloud, eni) == []
    ec2.create_tags(Resources=[iid], Tags=COVERED)
    assert until(lambda: sessions_of(cloud, eni))
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "coverage"}])
    assert until(lambda: not sessions_of(cloud, eni))
    ec2.terminate_instances(InstanceIds=[iid])
    time.sleep(0.5)  # its terminate events handled


def test_the_fleet_members_are_never_covered_and_the_schedule_repairs_drift(covered_cloud):
    cloud, fleet = covered_cloud
    ec2 = cloud.client("ec2")
    ec2.create_tags(Resources=fleet["member_ids"], Tags=COVERED)
    iid, eni = launch(cloud, fleet["subnet_of_suspects"], COVERED)
    (session,) = until(lambda: sessions_of(cloud, eni))
    ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=session["TrafficMirrorSessionId"])  # drift
    answer = coverage(cloud, scheduled(cloud))
    assert eni in answer["created"].values(), answer
    member_enis = {n["NetworkInterfaceId"] for r in ec2.describe_instances(InstanceIds=fleet["member_ids"])["Reservations"]
                   for i in r["Instances"] for n in i["NetworkInterfaces"]}
    assert not member_enis & {s["NetworkInterfaceId"] for s in coverage_sessions(cloud)}
    assert coverage(cloud, scheduled(cloud))["created"] == {}  # reconciled: nothing more to do
    ec2.delete_tags(Resources=fleet["member_ids"], Tags=[{"Key": "coverage"}])
    ec2.terminate_instances(InstanceIds=[iid])
    assert until(lambda: not sessions_of(cloud, eni))


def test_the_janitor_leaves_live_coverage_alone(covered_cloud):
    """Coverage sessions carry no investigation tag: the janitor's sweep (its schedule's event)
    never takes them (the Coverage schedule is their janitor)."""
    cloud, fleet = covered_cloud
    iid, eni = launch(cloud, fleet["subnet_of_suspects"], COVERED)
    (session,) = until(lambda: sessions_of(cloud, eni))
    answer = cloud.client("lambda").invoke(FunctionName=cloud.resource("JanitorFunction"),
                                           Payload=json.dumps(scheduled(cloud)).encode())
    assert "FunctionError" not in answer, answer["Payload"].read()
    assert [s["TrafficMirrorSessionId"] for s in sessions_of(cloud, eni)] == [session["TrafficMirrorSessionId"]]
    cloud.client("ec2").terminate_instances(InstanceIds=[iid])
    assert until(lambda: not sessions_of(cloud, eni))


def test_a_bad_event_is_refused_typed_and_creates_nothing(covered_cloud):
    cloud, _ = covered_cloud
    def ids() -> set[str]:
        return ({s["TrafficMirrorSessionId"] for s in coverage_sessions(cloud)}
                | {f["TrafficMirrorFilterId"] for f in coverage_filters(cloud)})

    before = ids()
    for bad in ({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2"},
                {**scheduled(cloud), "detail-type": "Tag Change on Resource", "source": "aws.tag",
                 "resources": ["arn:aws:s3:::bucket"], "detail": {"service": "s3", "resource-type": "bucket"}}):
        answer = coverage(cloud, bad)
        assert answer["error"]["errorType"] == "InvalidCoverageEvent", answer
    assert ids() <= before  # nothing created


def test_coverage_needs_a_fleet_refused_before_anything_is_created(covered_cloud):
    """The template's rule CoverageNeedsFleet: CloudFormation refuses the parameters of a second
    stack (a tag selector, no FleetTargetId) before creating anything."""
    cloud, _ = covered_cloud
    functions = {f["FunctionName"] for f in cloud.client("lambda").list_functions()["Functions"]}
    parameters = {**cloud.local_parameters(), **SELECTOR, "FleetTargetId": "", "FleetControlQueueUrl": ""}
    with pytest.raises(TemplateError, match="CoverageTagKey needs FleetTargetId"):
        deploy_template(cloud, REPO / "template.yaml", parameters, stack_name="tapcase-nofleet")
    assert {f["FunctionName"] for f in cloud.client("lambda").list_functions()["Functions"]} == functions


def athena_rows(cloud: LocalCloud, sql: str) -> list[list[str | None]]:
    athena, database = cloud.client("athena"), cloud.resource("ForensicsDatabase")
    qid = athena.start_query_execution(QueryString=sql, WorkGroup=cloud.resource("AthenaWorkGroup"),
                                       QueryExecutionContext={"Database": database})["QueryExecutionId"]
    state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
    assert state["State"] == "SUCCEEDED", state
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    return [[c.get("VarCharValue") for c in r["Data"]] for r in rows[1:]]


def covered_and_rolled(cloud: LocalCloud, fleet: dict[str, Any], story: Any) -> dict[str, dict[str, int]]:
    """The story's instance tagged and covered, then the fleet's members roll up what the coverage
    session delivered them of the story's capture: per member, the keys uploaded and their rows."""
    cloud.client("ec2").create_tags(Resources=[story.instance_id], Tags=COVERED)
    until(lambda: sessions_of(cloud, story.eni_id))
    sensors.set_capture(story.pcap)
    try:
        return fleet_members.roll_coverage(fleet["member_ids"])
    finally:
        sensors.set_capture(None)


def test_a_covered_instances_traffic_is_rolled_up_by_day_and_athena_reads_it(covered_cloud, tmp_path):
    """The fleet member the NLB gives the suspect's flows analyses the coverage VNI with the real
    Suricata and uploads its events under coverage/coverage_events/day=…/; the Glue table's date
    projection finds them (and a day outside it is never read)."""
    cloud, fleet = covered_cloud
    ec2 = cloud.client("ec2")
    story = generate("beaconing", tmp_path / "beaconing.pcap")
    assert story.instance_id == fleet["suspect"]
    rolled = covered_and_rolled(cloud, fleet, story)
    keys = {key: rows for found in rolled.values() for key, rows in found.items()}
    days = days_between(story.start_time.timestamp(), story.end_time.timestamp())
    assert keys and all(k.startswith(f"coverage/coverage_events/day={days[0][:8]}") for k in keys), keys
    listed = cloud.client("s3").list_objects_v2(Bucket=cloud.resource("EvidenceBucket"), Prefix="coverage/")
    assert {o["Key"] for o in listed["Contents"]} == set(keys)
    database = cloud.resource("ForensicsDatabase")
    day_list = ", ".join(f"'{d}'" for d in days)
    peers = athena_rows(cloud, f"""
        SELECT CASE WHEN src_ip = '{story.suspect_ip}' THEN dest_ip ELSE src_ip END AS peer, count(*) AS flows
        FROM {database}.coverage_events
        WHERE day IN ({day_list}) AND event_type = 'flow'
          AND (src_ip = '{story.suspect_ip}' OR dest_ip = '{story.suspect_ip}')
        GROUP BY 1 ORDER BY 2 DESC""")
    assert story.expected.beacon_peer_ip in {p[0] for p in peers}, peers
    (total,) = athena_rows(cloud, f"SELECT count(*) FROM {database}.coverage_events WHERE day IN ({day_list})")
    assert int(total[0] or 0) == sum(keys.values())
    assert athena_rows(cloud, f"SELECT count(*) FROM {database}.coverage_events WHERE day = '2019-12-31'") == [["0"]]
    ec2.delete_tags(Resources=[story.instance_id], Tags=[{"Key": "coverage"}])
    assert until(lambda: not sessions_of(cloud, story.eni_id))


def test_a_finding_for_a_covered_instance_starts_from_what_the_fleet_kept_before(covered_cloud, tmp_path):
    """The beaconing story with the hour before the finding: the coverage session delivered it to
    the fleet, whose member rolled it up; then GuardDuty's finding is investigated as usual (its
    own lower-numbered session to the fleet, the window only), and the report starts from the
    rolling logs: the beacon's peer already there before the finding, in the timeline before the
    capture."""
    cloud, fleet = covered_cloud
    ec2 = cloud.client("ec2")
    story = generate("beaconing", tmp_path / "beaconing-lead.pcap", lead_seconds=3600)
    rolled = covered_and_rolled(cloud, fleet, story)
    assert any(rolled.values()), rolled
    summary = run(cloud, finding("beaconing"), tmp_path, pcap=story.pcap, window_start=EPOCH)
    assert summary["status"] == "SUCCEEDED", summary
    report = load_report(summary)
    covered = report["coverage"]
    assert covered["status"] == "found", covered["line"]
    assert covered["window"]["anchor"] == "finding"
    peers = {p["peer"]: p for p in covered["top_peers"]}
    beacon = peers[story.expected.beacon_peer_ip]
    assert beacon["flows"] > 0 and "outbound" in beacon["directions"]
    window_start = report["capture"]["window"]["start"]
    assert all(p["first"] < window_start and p["last"] <= "2024-06-03T13:56:00Z" for p in peers.values())
    before = [t for t in report["timeline"] if t.get("phase") == "before_capture"]
    assert any(t["what"].startswith("coverage: first seen with " + story.expected.beacon_peer_ip) for t in before)
    assert all(t["time"] < window_start for t in before)
    assert any("is covered (coverage mode" in w for w in report["context"]["warnings"])
    section = next(x for x in report["sections"] if x["name"] == "coverage_before")
    assert section["row_count"] == len(peers) or section["row_count"] > 10
    markdown = Path(summary["report"]["local_path"]).with_name("report.md").read_text()
    assert markdown.index("## Before the finding (coverage") < markdown.index("## Capture facts")
    # then the investigation captured as usual: its own VNI, not the coverage one
    assert report["capture"]["vni"] != COVERAGE_VNI
    ec2.delete_tags(Resources=[story.instance_id], Tags=[{"Key": "coverage"}])
    assert until(lambda: not sessions_of(cloud, story.eni_id))


def test_switching_coverage_off_leaves_nothing(covered_cloud):
    """Runs last: the stack updated with CoverageTagKey empty (the function's environment, as
    CloudFormation updates it), then the schedule's run removes every coverage session and filter."""
    cloud, fleet = covered_cloud
    _, eni = launch(cloud, fleet["subnet_of_suspects"], COVERED)
    until(lambda: sessions_of(cloud, eni))
    assert coverage_sessions(cloud) and coverage_filters(cloud)
    lam = cloud.client("lambda")
    name = cloud.resource("CoverageFunction")
    variables = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {
        **variables, "COVERAGE_TAG_KEY": "", "COVERAGE_TAG_VALUE": ""}})
    answer = coverage(cloud, scheduled(cloud))
    assert answer["enabled"] is False and answer["deleted"], answer
    assert coverage_sessions(cloud) == [] and coverage_filters(cloud) == []
    # the fleet's own resources are untouched
    targets = cloud.client("ec2").describe_traffic_mirror_targets()["TrafficMirrorTargets"]
    assert fleet["target_id"] in {t["TrafficMirrorTargetId"] for t in targets}
