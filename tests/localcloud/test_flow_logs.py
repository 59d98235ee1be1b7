"""The local cloud's VPC Flow Logs (tapcase/localcloud/mirroring/flowlogs.py) and the flow-log
table on the local Athena: each test names the AWS documentation it reproduces."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tapcase.localcloud.mirroring import flowlogs
from tapcase.localcloud.mirroring import packet_filter as mr
from tapcase.scenario import generate
from tapcase.scenario.model import EPOCH
from tapcase_contract import flow_logs as contract

# "Flow log record examples" (VPC User Guide): accepted SSH traffic, default format.
DOC_EXAMPLE = ("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 "
               "1418530010 1418530070 ACCEPT OK")


def test_record_is_the_default_format_of_the_docs_example():
    """"Flow log records": version 2, 14 space-separated fields in the default order."""
    record = flowlogs.Record("eni-1235b8ca123456789", "172.31.16.139", "172.31.16.21", 20641, 22, 6,
                             packets=20, bytes=4249, start=1418530010, end=1418530070)
    assert record.line("123456789010") == DOC_EXAMPLE
    assert contract.DEFAULT_LOG_FORMAT.split() == [f"${{{f}}}" for f in contract.DEFAULT_FIELDS]


def test_file_is_gzip_text_with_a_header_line():
    """"Flow log files": each file one gzip, plain text; the header names the fields."""
    record = flowlogs.Record("eni-1235b8ca123456789", "172.31.16.139", "172.31.16.21", 20641, 22, 6, 20, 4249,
                             1418530010, 1418530070)
    lines = gzip.decompress(flowlogs.file_body([record], "123456789010")).decode().splitlines()
    assert lines == [" ".join(contract.DEFAULT_FIELDS), DOC_EXAMPLE]


def test_object_key_is_the_documented_layout():
    """"Flow log files": bucket-and-optional-prefix/AWSLogs/account_id/vpcflowlogs/region/year/month/day/."""
    key = contract.object_key("central/flows", "123456789012", "us-east-1", "fl-0abc", EPOCH + 300, "1a2b3c4d")
    assert key == ("central/flows/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/06/03/"
                   "123456789012_vpcflowlogs_us-east-1_fl-0abc_20240603T1405Z_1a2b3c4d.log.gz")
    with pytest.raises(ValueError):
        contract.object_key("/bad/", "123456789012", "us-east-1", "fl-0abc", EPOCH, "x")


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    out = tmp_path_factory.mktemp("flowlog-story")
    return generate("ssh-bruteforce", out / "ssh.pcap", lead_seconds=600)


def _source(info) -> mr.SourceSpec:
    return mr.SourceSpec(eni_id=info.eni_id, primary_ip=info.suspect_ip, mac="02:00:00:00:00:01",
                         addresses=frozenset({mr.packed(info.suspect_ip)}),
                         resolvers=mr.resolver_addresses("10.0.0.0/16"))


@pytest.mark.parametrize("interval", contract.AGGREGATION_CHOICES)
def test_records_aggregate_per_5_tuple_and_interval(story, interval):
    """"Flow log records": one record per ENI and 5-tuple within an aggregation interval (60 or
    600 s, CreateFlowLogs MaxAggregationInterval); start/end the first and last packet's second."""
    records = flowlogs.records_of(story.pcap, [_source(story)], interval)
    assert records
    keys = [(r.src, r.dst, r.sport, r.dport, r.proto, r.start // interval) for r in records]
    assert len(keys) == len(set(keys))
    assert all(r.start // interval == r.end // interval and r.start <= r.end and r.packets >= 1 for r in records)
    assert all(story.suspect_ip in (r.src, r.dst) for r in records)
    fewer = flowlogs.records_of(story.pcap, [_source(story)], 600)
    assert len(fewer) <= len(records)


def test_flow_logs_leave_out_what_aws_does_not_log(story):
    """"Flow log limitations": no DHCP, instance metadata, Time Sync or Amazon DNS traffic."""
    records = flowlogs.records_of(story.pcap, [_source(story)], 600)
    never = {"169.254.169.254", "169.254.169.123", "169.254.169.253", "10.0.0.2", "255.255.255.255"}
    assert not any({r.src, r.dst} & never for r in records)
    assert not any(r.proto == 17 and {r.sport, r.dport} <= {67, 68} for r in records)


def test_flow_log_table_reads_gzip_text_through_partition_projection(story, tmp_path):
    """Athena "Create and query a table for Amazon VPC flow logs using partition projection":
    LazySimpleSerDe on space-separated gzip text, the header skipped (skip.header.line.count),
    day folders yyyy/MM/dd projected as dates; a file outside the projected range is not read."""
    from tapcase.localcloud import LocalCloud
    from tapcase_workflow.querypack import finding_parameters, render_pack

    bucket, prefix = "central-flows", "org/vpc"
    with LocalCloud(time_scale=0, parameters={"FlowLogsBucket": bucket, "FlowLogsPrefix": prefix}) as cloud:
        s3 = cloud.client("s3")
        s3.create_bucket(Bucket=bucket)
        records = flowlogs.records_of(story.pcap, [_source(story)], 60)
        key = contract.object_key(prefix, cloud.account_id, cloud.region, "fl-0123", EPOCH, "00000001")
        s3.put_object(Bucket=bucket, Key=key, Body=flowlogs.file_body(records, cloud.account_id))
        # before the projection's range: Athena never lists it
        old = contract.object_key(prefix, cloud.account_id, cloud.region, "fl-0123", 1_000_000_000, "00000002")
        s3.put_object(Bucket=bucket, Key=old, Body=flowlogs.file_body(records[:1], cloud.account_id))
        database = cloud.resource("ForensicsDatabase")
        params = finding_parameters(None, [story.suspect_ip], suspect_enis=[story.eni_id],
                                    flow_log_window=(EPOCH - 3600, EPOCH + 3600))
        query = next(q for q in render_pack(database=database, investigation_id="fl-test-1", parameters=params)
                     if q.name == "flow_log_peers")
        athena = cloud.client("athena")
        workgroup = cloud.resource("AthenaWorkGroup")

        def run(sql: str) -> list[list[str]]:
            qid = athena.start_query_execution(QueryString=sql, WorkGroup=workgroup,
                                               QueryExecutionContext={"Database": database})["QueryExecutionId"]
            state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
            assert state["State"] == "SUCCEEDED", state
            rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
            return [[c.get("VarCharValue") for c in r["Data"]] for r in rows[1:]]

        total = run(f"SELECT count(*), sum(bytes), min(version), min(accid), min(day) FROM {database}.vpc_flow_logs")
        assert total == [[str(len(records)), str(sum(r.bytes for r in records)), "2", cloud.account_id, "2024/06/03"]]
        peers = run(query.sql)
        assert peers and sum(int(p[4]) for p in peers) == len(records)  # records per peer add up
        attacker = max(peers, key=lambda p: int(p[4]))
        assert "22" in attacker[2]  # the brute-forced SSH port


def test_a_vpc_flow_log_to_s3_gets_the_mirrored_enis_records(tmp_path):
    """CreateFlowLogs (ResourceType VPC, LogDestinationType s3): records of the ENIs in that VPC go
    to its bucket; a REJECT-only flow log gets none of the accepted traffic."""
    from tapcase.localcloud import LocalCloud

    info = generate("beaconing", tmp_path / "b.pcap")
    with LocalCloud(template=None, time_scale=0) as cloud:
        ec2 = cloud.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        eni = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=info.suspect_ip)["NetworkInterface"]
        cloud.client("s3").create_bucket(Bucket="flows")
        cloud.client("s3").create_bucket(Bucket="rejects")
        for destination, traffic in (("flows/vpc-logs/", "ALL"), ("rejects", "REJECT")):
            ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc], TrafficType=traffic, LogDestinationType="s3",
                                 LogDestination=f"arn:aws:s3:::{destination}", MaxAggregationInterval=60)
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[cloud.account_id][cloud.region]
        source = mr.SourceSpec(eni_id=eni["NetworkInterfaceId"], primary_ip=info.suspect_ip, mac=eni["MacAddress"],
                               addresses=frozenset({mr.packed(info.suspect_ip)}),
                               resolvers=mr.resolver_addresses("10.0.0.0/16"))
        done = flowlogs.deliver(backend, Path(info.pcap), [source])
        assert done.records and all(o.startswith("s3://flows/vpc-logs/AWSLogs/") for o in done.objects)
        assert not cloud.client("s3").list_objects_v2(Bucket="rejects").get("Contents")
        again = flowlogs.deliver(backend, Path(info.pcap), [source])
        assert again.objects == done.objects  # the same capture, the same files


def test_create_flow_logs_takes_an_s3_destination_with_a_subfolder():
    """EC2 API reference, CreateFlowLogs ``LogDestination``: "arn:aws:s3:::my_bucket/my_subfolder/ The
    subfolder is optional" (moto 5.2.5 looked ``bucket/folder/`` up as a bucket name). A missing bucket
    stays unsuccessful, and the same resource and destination twice is ``FlowLogAlreadyExists``."""
    from botocore.exceptions import ClientError

    from tapcase.localcloud import LocalCloud

    with LocalCloud(template=None, time_scale=0) as cloud:
        ec2 = cloud.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        cloud.client("s3").create_bucket(Bucket="flows")

        def create(destination: str) -> dict:
            return ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc], TrafficType="ALL",
                                        LogDestinationType="s3", LogDestination=destination)

        assert not create("arn:aws:s3:::flows/team-a/")["Unsuccessful"]
        assert not create("arn:aws:s3:::flows")["Unsuccessful"]  # the bucket's root: another destination
        (missing,) = create("arn:aws:s3:::no-such-bucket/team-a/")["Unsuccessful"]
        assert missing["Error"]["Message"] == "LogDestination: no-such-bucket does not exist."
        with pytest.raises(ClientError) as again:
            create("arn:aws:s3:::flows/team-a/")
        assert again.value.response["Error"]["Code"] == "FlowLogAlreadyExists"
        shown = {f["LogDestination"] for f in ec2.describe_flow_logs()["FlowLogs"]}
        assert shown == {"arn:aws:s3:::flows/team-a/", "arn:aws:s3:::flows"}
