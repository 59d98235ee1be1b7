"""End-to-end: flow-log context before the window.

The c2-dns story's capture covers the hour before the window as well as the window
(``lead_seconds``): the mirror delivers only what happened while its session existed (the window),
the VPC's flow log (CreateFlowLogs to S3, "Flow log files") records all of it. The stack knows where
the flow logs are (``FlowLogsBucket``), so Plan renders ``flow_log_peers`` for the hour before
GuardDuty last saw the activity and the report shows it before the capture.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapcase.scenario import generate
from tapcase.scenario.model import EPOCH
from tests.e2e.conftest import delivery_of, load_report, run

REPO = Path(__file__).resolve().parents[2]
BUCKET = "central-flow-logs"
# Slower than the other e2e modules: the sensor also writes the flow logs of a 70-minute capture
# before CollectEvidence's timeout (1800 s of workflow time) runs out on a busy machine.
TIME_SCALE = 0.02


@pytest.fixture(scope="module")
def investigated(tmp_path_factory):
    from tapcase.localcloud import LocalCloud
    from tapcase.localcloud.seed import seed_instance

    out = tmp_path_factory.mktemp("flowlogs")
    info = generate("c2-dns", out / "c2-dns.pcap", lead_seconds=3600)
    event = json.loads((REPO / "samples" / "findings" / "c2-dns.json").read_text())
    with LocalCloud(time_scale=TIME_SCALE, parameters={"FlowLogsBucket": BUCKET}) as cloud:
        ec2 = cloud.client("ec2")
        seeded = seed_instance(ec2, event["detail"]["resource"]["instanceDetails"], cloud.region)
        cloud.client("s3").create_bucket(Bucket=BUCKET)
        made = ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[seeded["vpc_id"]], TrafficType="ALL",
                                    LogDestinationType="s3", LogDestination=f"arn:aws:s3:::{BUCKET}")
        assert not made["Unsuccessful"], made
        summary = run(cloud, event, out, pcap=info.pcap, window_start=EPOCH)
        keys = [o["Key"] for o in cloud.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        yield info, summary, load_report(summary), keys, delivery_of(info.pcap)


def test_flow_logs_are_delivered_as_aws_lays_them_out(investigated):
    """"Flow log files": <bucket>/AWSLogs/<account>/vpcflowlogs/<region>/yyyy/MM/dd/…log.gz."""
    info, _summary, _report, keys, _delivery = investigated
    assert keys
    prefix = f"AWSLogs/{info.account_id}/vpcflowlogs/{info.region}/2024/06/03/{info.account_id}_vpcflowlogs_"
    assert all(k.startswith(prefix) and k.endswith(".log.gz") for k in keys), keys[:3]


def test_the_mirror_delivers_only_the_window(investigated):
    """Traffic Mirroring copies packets only while the session exists: nothing of the hour before."""
    _info, summary, _report, _keys, delivery = investigated
    assert summary["status"] == "SUCCEEDED", summary
    assert delivery.skipped["before_sessions"] > 0 and delivery.mirrored > 0


def test_report_shows_flow_log_context_before_the_window(investigated):
    info, _summary, report, _keys, _delivery = investigated
    flow = report["flow_logs"]
    assert flow["status"] == "found", flow["line"]
    assert flow["window"]["anchor"] == "finding"
    window_start = report["capture"]["window"]["start"]
    before = [t for t in report["timeline"] if t.get("phase") == "before_capture"]
    assert before and all(t["time"] < window_start for t in before)
    peers = {p["peer"]: p for p in flow["top_peers"]}
    assert all(p["accepted"] == p["records"] and p["rejected"] == 0 for p in peers.values())
    assert all(p["first"] >= "2024-06-03T12:56" and p["first"] < "2024-06-03T13:57" for p in peers.values())
    assert "169.254.169.253" not in peers and "169.254.169.254" not in peers  # never in flow logs
    section = next(s for s in report["sections"] if s["name"] == "flow_log_peers")
    assert section["row_count"] == len(flow["top_peers"]) or section["row_count"] > 10
    markdown = Path(_summary["report"]["local_path"]).with_name("report.md").read_text()
    assert "## Before the capture (VPC Flow Logs)" in markdown
    assert markdown.index("## Before the capture") < markdown.index("## Capture facts")
