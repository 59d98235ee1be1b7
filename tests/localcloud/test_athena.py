"""The local cloud's Athena runs SQL for real, through boto3 and through Step Functions."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud import athena as local_athena
from tapcase.localcloud.cloud import LocalCloud
from tests.conftest import wait_for_execution

DATABASE = "forensics"
LAKE = "lake"
RESULTS = "athena-results"
OUTPUT = f"s3://{RESULTS}/queries/"
CAPPED_WORKGROUP = "capped"
CUTOFF = 10_000_000  # the smallest BytesScannedCutoffPerQuery Athena accepts
PARQUET_SERDE = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


def parquet_bytes(table: pa.Table, compression: str = "zstd") -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=compression)
    return buffer.getvalue()


def conn_rows(investigation: str, count: int) -> pa.Table:
    return pa.table(
        {
            "ts": pa.array([1_700_000_000.0 + i for i in range(count)], pa.float64()),
            "uid": [f"{investigation}-C{i}" for i in range(count)],
            "id_orig_h": [f"10.0.0.{i % 3}" for i in range(count)],
            "orig_bytes": pa.array([100 * (i + 1) for i in range(count)], pa.int64()),
            "local_orig": [i % 2 == 0 for i in range(count)],
            "seen": pa.array([1_700_000_000_000 + i for i in range(count)], pa.timestamp("ms")),
            "tags": [["a", "b"][: i % 3] for i in range(count)],
            "server": [{"name": f"s{i}", "port": 443} for i in range(count)],
        }
    )


CONN_COLUMNS = [
    {"Name": "ts", "Type": "double"},
    {"Name": "uid", "Type": "string"},
    {"Name": "id_orig_h", "Type": "string"},
    {"Name": "orig_bytes", "Type": "bigint"},
    {"Name": "local_orig", "Type": "boolean"},
    {"Name": "seen", "Type": "timestamp"},
    {"Name": "tags", "Type": "array<string>"},
    {"Name": "server", "Type": "struct<name:string,port:int>"},
]


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as running:
        seed(running)
        yield running


def seed(cloud: LocalCloud) -> None:
    s3, glue, athena = cloud.client("s3"), cloud.client("glue"), cloud.client("athena")
    for bucket in (LAKE, RESULTS):
        s3.create_bucket(Bucket=bucket)
    glue.create_database(DatabaseInput={"Name": DATABASE})

    # Zeek conn, Parquet, investigation_id projected as `injected` under a location template.
    for investigation, count in (("inv-1", 25), ("inv-2", 4)):
        s3.put_object(
            Bucket=LAKE,
            Key=f"investigations/{investigation}/zeek/conn/part-0.parquet",
            Body=parquet_bytes(conn_rows(investigation, count)),
        )
    s3.put_object(Bucket=LAKE, Key="investigations/inv-1/zeek/conn/_SUCCESS", Body=b"")
    glue.create_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "conn",
            "StorageDescriptor": {"Columns": CONN_COLUMNS, "Location": f"s3://{LAKE}/investigations/", **PARQUET_SERDE},
            "PartitionKeys": [{"Name": "investigation_id", "Type": "string"}],
            "Parameters": {
                "classification": "parquet",
                "projection.enabled": "true",
                "projection.investigation_id.type": "injected",
                "storage.location.template": f"s3://{LAKE}/investigations/${{investigation_id}}/zeek/conn/",
            },
        },
    )

    # Zeek dns, JSON lines with the dotted keys Zeek writes, mapped by the OpenX SerDe.
    dns_lines = [
        {"ts": 1.5, "id.orig_h": "10.0.0.1", "query": "evil.example.com", "qtype_name": "TXT"},
        {"ts": 2.5, "id.orig_h": "10.0.0.2", "query": "ok.example.org", "qtype_name": "A"},
        {"ts": 3.5, "id.orig_h": "10.0.0.1", "query": "x1.evil.example.com", "qtype_name": "TXT"},
    ]
    s3.put_object(
        Bucket=LAKE,
        Key="raw/dns/dns.00.log",
        Body="".join(json.dumps(line) + "\n" for line in dns_lines).encode(),
    )
    glue.create_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "dns",
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "ts", "Type": "double"},
                    {"Name": "id_orig_h", "Type": "string"},
                    {"Name": "query", "Type": "string"},
                    {"Name": "qtype_name", "Type": "string"},
                ],
                "Location": f"s3://{LAKE}/raw/dns/",
                "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                    "Parameters": {"mapping.id_orig_h": "id.orig_h"},
                },
            },
        },
    )

    # Suricata alerts: Hive-style partitions (no template), projected: injected + enum.
    for investigation, event_type, rows in (
        ("inv-1", "alert", [("ET POLICY", 2), ("ET MALWARE", 1)]),
        ("inv-1", "dns", [("n/a", 3)]),
        ("inv-2", "alert", [("ET SCAN", 3)]),
    ):
        table = pa.table({"signature": [r[0] for r in rows], "severity": pa.array([r[1] for r in rows], pa.int32())})
        s3.put_object(
            Bucket=LAKE,
            Key=f"suricata/investigation_id={investigation}/event_type={event_type}/eve.parquet",
            Body=parquet_bytes(table),
        )
    glue.create_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "eve",
            "StorageDescriptor": {
                "Columns": [{"Name": "signature", "Type": "string"}, {"Name": "severity", "Type": "int"}],
                "Location": f"s3://{LAKE}/suricata/",
                **PARQUET_SERDE,
            },
            "PartitionKeys": [
                {"Name": "investigation_id", "Type": "string"},
                {"Name": "event_type", "Type": "string"},
            ],
            "Parameters": {
                "projection.enabled": "true",
                "projection.investigation_id.type": "injected",
                "projection.event_type.type": "enum",
                "projection.event_type.values": "alert,dns,tls",
            },
        },
    )

    # A capture big enough for the smallest per-query cutoff (10 MB): incompressible bytes.
    big = pa.table({"payload": [os.urandom(1024 * 1024) for _ in range(11)]})
    s3.put_object(Bucket=LAKE, Key="pcap/blobs.parquet", Body=parquet_bytes(big, compression="none"))
    glue.create_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "blobs",
            "StorageDescriptor": {
                "Columns": [{"Name": "payload", "Type": "binary"}],
                "Location": f"s3://{LAKE}/pcap/",
                **PARQUET_SERDE,
            },
        },
    )
    athena.create_work_group(
        Name=CAPPED_WORKGROUP,
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/capped/"},
            "EnforceWorkGroupConfiguration": True,
            "BytesScannedCutoffPerQuery": CUTOFF,
        },
    )


def start(cloud: LocalCloud, sql: str, **kwargs: Any) -> str:
    params: dict[str, Any] = {"QueryString": sql, "QueryExecutionContext": {"Database": DATABASE}}
    if "WorkGroup" not in kwargs:
        params["ResultConfiguration"] = {"OutputLocation": OUTPUT}
    params.update(kwargs)
    return str(cloud.client("athena").start_query_execution(**params)["QueryExecutionId"])


def execution(cloud: LocalCloud, query_id: str) -> dict[str, Any]:
    return dict(cloud.client("athena").get_query_execution(QueryExecutionId=query_id)["QueryExecution"])


def rows_of(result: dict[str, Any]) -> list[list[str | None]]:
    return [[d.get("VarCharValue") for d in row["Data"]] for row in result["ResultSet"]["Rows"]]


def object_size(cloud: LocalCloud, key: str) -> int:
    return int(cloud.client("s3").head_object(Bucket=LAKE, Key=key)["ContentLength"])


# -- queries through boto3 -------------------------------------------------------------------------


def test_select_returns_real_rows_with_athena_types(cloud: LocalCloud) -> None:
    query_id = start(
        cloud,
        "SELECT uid, orig_bytes, ts, local_orig, seen, tags, server, investigation_id, orig_bytes / 3, "
        "server.port AS port FROM conn WHERE investigation_id = 'inv-1' AND orig_bytes <= 300 ORDER BY uid",
    )
    described = execution(cloud, query_id)
    assert described["Status"]["State"] == "SUCCEEDED", described["Status"]
    assert described["StatementType"] == "DML"
    assert described["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{query_id}.csv"
    # Only the pinned investigation's objects were read.
    assert described["Statistics"]["DataScannedInBytes"] == object_size(
        cloud, "investigations/inv-1/zeek/conn/part-0.parquet"
    )

    result = cloud.client("athena").get_query_results(QueryExecutionId=query_id)
    rows = rows_of(result)
    assert rows[0] == [
        "uid", "orig_bytes", "ts", "local_orig", "seen", "tags", "server", "investigation_id", "_col8", "port"
    ]
    assert rows[1] == [
        "inv-1-C0", "100", "1.7E9", "true", "2023-11-14 22:13:20.000", "[]", "{name=s0, port=443}", "inv-1", "33", "443"
    ]
    assert rows[2][5] == "[a]"
    assert len(rows) == 4  # header + 3 rows
    info = result["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [c["Type"] for c in info] == [
        "varchar", "bigint", "double", "boolean", "timestamp", "array", "row", "varchar", "bigint", "integer"
    ]
    assert info[0]["Precision"] == 2147483647 and info[0]["CaseSensitive"] is True
    assert result["UpdateCount"] == 0 and "NextToken" not in result


def test_results_page_with_next_token(cloud: LocalCloud) -> None:
    query_id = start(cloud, "SELECT uid FROM conn WHERE investigation_id = 'inv-1' ORDER BY ts")
    athena = cloud.client("athena")
    pages: list[list[list[str | None]]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": 10}
        if token:
            kwargs["NextToken"] = token
        page = athena.get_query_results(**kwargs)
        pages.append(rows_of(page))
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [10, 10, 6]  # the header row counts on the first page
    flat = [r[0] for p in pages for r in p]
    assert flat == ["uid"] + [f"inv-1-C{i}" for i in range(25)]

    paginator = athena.get_paginator("get_query_results")
    assert sum(len(p["ResultSet"]["Rows"]) for p in paginator.paginate(QueryExecutionId=query_id)) == 26


def test_result_csv_is_written_to_the_output_location(cloud: LocalCloud) -> None:
    query_id = start(cloud, "SELECT id_orig_h, count(*) AS n FROM dns GROUP BY id_orig_h ORDER BY n DESC")
    body = cloud.client("s3").get_object(Bucket=RESULTS, Key=f"queries/{query_id}.csv")["Body"].read()
    assert body == b'"id_orig_h","n"\n"10.0.0.1","2"\n"10.0.0.2","1"\n'
    assert list(csv.reader(io.StringIO(body.decode()))) == [["id_orig_h", "n"], ["10.0.0.1", "2"], ["10.0.0.2", "1"]]


def test_json_lines_with_dotted_keys_and_athena_functions(cloud: LocalCloud) -> None:
    query_id = start(
        cloud,
        "SELECT query, regexp_extract(query, '^x(\\d+)\\.', 1) AS n, id_orig_h FROM dns "
        "WHERE regexp_like(query, 'evil') ORDER BY ts",
    )
    rows = rows_of(cloud.client("athena").get_query_results(QueryExecutionId=query_id))
    assert rows == [
        ["query", "n", "id_orig_h"],
        ["evil.example.com", None, "10.0.0.1"],  # no match: NULL as on Athena, not ''
        ["x1.evil.example.com", "1", "10.0.0.1"],
    ]


def test_hive_partitions_and_enum_projection(cloud: LocalCloud) -> None:
    query_id = start(
        cloud,
        "SELECT event_type, count(*) AS n, sum(severity) AS s FROM awsdatacatalog.forensics.eve "
        "WHERE investigation_id = 'inv-1' GROUP BY event_type ORDER BY event_type",
    )
    assert rows_of(cloud.client("athena").get_query_results(QueryExecutionId=query_id)) == [
        ["event_type", "n", "s"],
        ["alert", "2", "3"],
        ["dns", "1", "3"],
    ]


def test_join_with_a_literal_on_each_reference(cloud: LocalCloud) -> None:
    query_id = start(
        cloud,
        "SELECT c.investigation_id, count(*) AS n FROM conn c JOIN eve e "
        "ON e.investigation_id = 'inv-2' AND e.investigation_id = c.investigation_id "
        "WHERE c.investigation_id = 'inv-2' GROUP BY 1",
    )
    assert rows_of(cloud.client("athena").get_query_results(QueryExecutionId=query_id)) == [
        ["investigation_id", "n"],
        ["inv-2", "4"],
    ]


def test_empty_result_has_the_header_only(cloud: LocalCloud) -> None:
    query_id = start(cloud, "SELECT uid FROM conn WHERE investigation_id = 'inv-unknown'")
    assert execution(cloud, query_id)["Statistics"]["DataScannedInBytes"] == 0
    assert rows_of(cloud.client("athena").get_query_results(QueryExecutionId=query_id)) == [["uid"]]


def test_concurrent_queries(cloud: LocalCloud) -> None:
    # The workflow's Map runs up to five queries at once.
    sqls = [f"SELECT count(*) AS n FROM conn WHERE investigation_id = 'inv-{1 + i % 2}'" for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        query_ids = list(pool.map(lambda sql: start(cloud, sql), sqls))
    counts = [rows_of(cloud.client("athena").get_query_results(QueryExecutionId=q))[1][0] for q in query_ids]
    assert counts == ["25", "4", "25", "4", "25", "4"]


# -- failures ------------------------------------------------------------------------------------


def test_bad_column_fails_like_athena(cloud: LocalCloud) -> None:
    query_id = start(cloud, "SELECT query,\n  no_such_column FROM dns")
    status = execution(cloud, query_id)["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"] == (
        "COLUMN_NOT_FOUND: line 2:3: Column 'no_such_column' cannot be resolved "
        "or requester is not authorized to access requested resources"
    )
    assert status["AthenaError"]["ErrorCategory"] == 2
    assert status["AthenaError"]["ErrorMessage"] == status["StateChangeReason"]
    with pytest.raises(ClientError) as raised:
        cloud.client("athena").get_query_results(QueryExecutionId=query_id)
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "FAILED" in raised.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT FROM WHERE", "SYNTAX_ERROR: line 1:"),
        ("SELECT * FROM no_such_table", "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.forensics.no_such_table'"),
        ("SELECT * FROM nodb.conn", "SCHEMA_NOT_FOUND: line 1:15: Schema 'nodb' does not exist"),
        ("SELECT url_extract_host(query) FROM dns", "LOCAL_ENGINE_UNSUPPORTED: url_extract_host"),
    ],
)
def test_other_failures(cloud: LocalCloud, sql: str, reason: str) -> None:
    status = execution(cloud, start(cloud, sql))["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"].startswith(reason), status["StateChangeReason"]


CONSTRAINT_VIOLATION = (
    "CONSTRAINT_VIOLATION: For the injected projected partition column investigation_id, the WHERE clause "
    "must contain only static equality conditions, and at least one such condition must be present."
)


@pytest.mark.parametrize(
    "where",
    ["", "WHERE orig_bytes > 0", "WHERE investigation_id LIKE 'inv-%'", "WHERE investigation_id IN (SELECT 'inv-1')"],
)
def test_injected_partition_must_be_pinned(cloud: LocalCloud, where: str) -> None:
    status = execution(cloud, start(cloud, f"SELECT count(*) FROM conn {where}"))["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"] == CONSTRAINT_VIOLATION


def test_injected_partition_pinned_by_literals(cloud: LocalCloud) -> None:
    query_id = start(
        cloud,
        "SELECT investigation_id, count(*) FROM conn "
        "WHERE investigation_id IN ('inv-1', 'inv-2', 'inv-9') GROUP BY 1 ORDER BY 1",
    )
    assert rows_of(cloud.client("athena").get_query_results(QueryExecutionId=query_id)) == [
        ["investigation_id", "_col1"],
        ["inv-1", "25"],
        ["inv-2", "4"],
    ]


def test_execution_parameters_pin_the_partition(cloud: LocalCloud) -> None:
    query_id = start(
        cloud, "SELECT count(*) AS n FROM conn WHERE investigation_id = ?", ExecutionParameters=["'inv-2'"]
    )
    described = execution(cloud, query_id)
    assert described["ExecutionParameters"] == ["'inv-2'"]
    assert rows_of(cloud.client("athena").get_query_results(QueryExecutionId=query_id)) == [["n"], ["4"]]


def test_bytes_scanned_cutoff_cancels_the_query(cloud: LocalCloud) -> None:
    big = execution(cloud, start(cloud, "SELECT count(*) FROM blobs", WorkGroup=CAPPED_WORKGROUP))
    assert big["Status"]["State"] == "CANCELLED"
    assert big["Status"]["StateChangeReason"] == "Bytes scanned limit was exceeded"
    assert big["Statistics"]["DataScannedInBytes"] == CUTOFF

    small = execution(cloud, start(cloud, "SELECT count(*) FROM dns", WorkGroup=CAPPED_WORKGROUP))
    assert small["Status"]["State"] == "SUCCEEDED"
    # The workgroup's enforced output location.
    assert small["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/capped/{small['QueryExecutionId']}.csv"

    uncapped = execution(cloud, start(cloud, "SELECT count(*) FROM blobs"))
    assert uncapped["Status"]["State"] == "SUCCEEDED"
    assert uncapped["Statistics"]["DataScannedInBytes"] > CUTOFF


def test_api_errors(cloud: LocalCloud) -> None:
    athena = cloud.client("athena")
    for call in (athena.get_query_execution, athena.get_query_results):
        with pytest.raises(ClientError) as raised:
            call(QueryExecutionId="00000000-0000-0000-0000-000000000000")
        assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as raised:
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup="no-such-workgroup")
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as raised:
        athena.start_query_execution(QueryString="SELECT 1")  # primary has no output location
    assert raised.value.response["Error"]["Message"] == local_athena.NO_OUTPUT_LOCATION


# -- Step Functions --------------------------------------------------------------------------------


def state_machine(cloud: LocalCloud, name: str, definition: dict[str, Any]) -> str:
    iam = cloud.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    sfn = cloud.client("stepfunctions")
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"])


def run_execution(cloud: LocalCloud, arn: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = cloud.client("stepfunctions")
    execution_arn = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))["executionArn"]
    return dict(wait_for_execution(sfn, execution_arn, timeout=20))


QUERY_THEN_RESULTS = {
    "StartAt": "Query",
    "States": {
        "Query": {
            "Type": "Task",
            "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
            "Parameters": {
                "QueryString.$": "$.sql",
                "QueryExecutionContext": {"Database": DATABASE},
                "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/sfn/"},
            },
            "ResultPath": "$.query",
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "QueryFailed"}],
            "Next": "Results",
        },
        "Results": {
            "Type": "Task",
            "Resource": "arn:aws:states:::athena:getQueryResults",
            "Parameters": {"QueryExecutionId.$": "$.query.QueryExecution.QueryExecutionId", "MaxResults": 100},
            "ResultSelector": {"Rows.$": "$.ResultSet.Rows"},
            "ResultPath": "$.results",
            "End": True,
        },
        "QueryFailed": {"Type": "Pass", "Result": "caught", "ResultPath": "$.outcome", "End": True},
    },
}


def test_state_machine_sync_query_then_results(cloud: LocalCloud) -> None:
    arn = state_machine(cloud, "athena-sync", QUERY_THEN_RESULTS)
    sql = "SELECT qtype_name, count(*) AS n FROM dns GROUP BY 1 ORDER BY 1"
    described = run_execution(cloud, arn, "sync-ok", {"sql": sql})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    query_execution = output["query"]["QueryExecution"]  # AWS wraps the .sync output like GetQueryExecution
    assert query_execution["Status"]["State"] == "SUCCEEDED"
    assert isinstance(query_execution["Status"]["SubmissionDateTime"], int)  # epoch millis, as on AWS
    assert query_execution["Query"] == sql
    assert [[d.get("VarCharValue") for d in r["Data"]] for r in output["results"]["Rows"]] == [
        ["qtype_name", "n"],
        ["A", "1"],
        ["TXT", "2"],
    ]


def test_state_machine_failed_query_is_caught(cloud: LocalCloud) -> None:
    arn = state_machine(cloud, "athena-sync-fail", QUERY_THEN_RESULTS)
    described = run_execution(cloud, arn, "sync-fail", {"sql": "SELECT count(*) FROM conn"})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["outcome"] == "caught"
    assert output["error"]["Error"] == "States.TaskFailed"
    cause = json.loads(output["error"]["Cause"])
    assert cause["QueryExecution"]["Status"]["State"] == "FAILED"
    assert cause["QueryExecution"]["Status"]["StateChangeReason"] == CONSTRAINT_VIOLATION


def test_state_machine_catch_all_and_api_error_names(cloud: LocalCloud) -> None:
    definition = {
        "StartAt": "Query",
        "States": {
            "Query": {
                "Type": "Task",
                "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
                "Parameters": {"QueryString.$": "$.sql", "WorkGroup.$": "$.workgroup"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    arn = state_machine(cloud, "athena-catch-all", definition)
    payload = {"sql": "SELECT count(*) FROM forensics.blobs", "workgroup": CAPPED_WORKGROUP}
    cancelled = json.loads(run_execution(cloud, arn, "cancelled", payload)["output"])
    assert cancelled["error"]["Error"] == "States.TaskFailed"
    assert json.loads(cancelled["error"]["Cause"])["QueryExecution"]["Status"]["State"] == "CANCELLED"

    refused = json.loads(run_execution(cloud, arn, "refused", {"sql": "SELECT 1", "workgroup": "nope"})["output"])
    assert refused["error"]["Error"] == "Athena.InvalidRequestException"


def test_state_machine_request_response_actions(cloud: LocalCloud) -> None:
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::athena:startQueryExecution",
                "Parameters": {
                    "QueryString": "SELECT count(*) FROM dns",
                    "QueryExecutionContext": {"Database": DATABASE},
                    "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/sfn/"},
                },
                "ResultPath": "$.start",
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::athena:getQueryExecution",
                "Parameters": {"QueryExecutionId.$": "$.start.QueryExecutionId"},
                "ResultSelector": {"State.$": "$.QueryExecution.Status.State"},
                "ResultPath": "$.get",
                "Next": "Stop",
            },
            "Stop": {
                "Type": "Task",
                "Resource": "arn:aws:states:::athena:stopQueryExecution",
                "Parameters": {"QueryExecutionId.$": "$.start.QueryExecutionId"},
                "ResultPath": "$.stop",
                "End": True,
            },
        },
    }
    arn = state_machine(cloud, "athena-request-response", definition)
    described = run_execution(cloud, arn, "request-response", {})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert set(output["start"]) == {"QueryExecutionId"}
    assert output["get"] == {"State": "SUCCEEDED"}
    assert output["stop"] == {}
    # Stopping a query that has finished leaves it as it was.
    assert execution(cloud, output["start"]["QueryExecutionId"])["Status"]["State"] == "SUCCEEDED"


def test_unsupported_integration_patterns_are_refused(cloud: LocalCloud) -> None:
    for resource in (
        "arn:aws:states:::athena:getQueryResults.sync",
        "arn:aws:states:::athena:startQueryExecution.waitForTaskToken",
    ):
        definition = {
            "StartAt": "Q",
            "States": {
                "Q": {"Type": "Task", "Resource": resource, "Parameters": {"QueryExecutionId": "x"}, "End": True}
            },
        }
        with pytest.raises(ClientError):
            cloud.client("stepfunctions").create_state_machine(
                name="refused", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x"
            )


# -- the moto internals the patch relies on --------------------------------------------------------


def test_moto_still_has_what_the_patch_relies_on() -> None:
    """Fails loudly when a moto upgrade moves what tapcase.localcloud.athena patches."""
    assert local_athena.check_moto_internals() == []


def test_patch_is_installed(cloud: LocalCloud) -> None:
    from moto.athena.responses import AthenaResponse
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory

    assert AthenaResponse.start_query_execution is local_athena._start_query_execution
    assert isinstance(state_task_factory.state_task_service_for("athena"), local_athena.state_task_service_class())
