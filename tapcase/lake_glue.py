"""Glue tables of the curated data lake, generated into ``template.yaml`` from the one schema source.

``template.yaml`` holds the tables between two marker lines; everything between them is written
by :func:`render_glue_block` from :mod:`tapcase_sensor.lake.schema` and must not be edited by hand
(tests/lake checks the template against the schema)::

    .venv/bin/python -m tapcase.lake_glue            # rewrite the block in template.yaml
    .venv/bin/python -m tapcase.lake_glue --check    # exit 1 if the block is out of date

Each table: database ``!Ref ForensicsDatabase``, Parquet SerDe, ``s3://<EvidenceBucket>/
investigations/curated/<table>/`` with Hive-style partition folders, and partition projection:
``investigation_id`` is ``injected`` (every query must name the investigation, so a query can never
scan other investigations), Suricata's ``event_type`` an ``enum`` of the event types the curation
writes.

After them, the VPC Flow Logs table (``vpc_flow_logs``, only with the ``HasFlowLogs`` condition:
the ``FlowLogsBucket`` parameter set): Athena's partition projection example for flow logs
delivered to S3 in the default (non-Hive) layout, ``accid``/``region`` enums of the stack's account
and region, ``day`` a date projection in ``yyyy/MM/dd``; LazySimpleSerDe on space-separated gzip
text with its header line skipped (``tapcase_contract.flow_logs``).

Last, coverage mode's rolling logs (``coverage_events``, :mod:`tapcase_contract.coverage_logs`):
JSON lines under ``coverage/coverage_events/day=<yyyy-MM-dd>/``, ``day`` a date projection.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tapcase_contract import coverage_logs, flow_logs
from tapcase_contract.layout import CURATED_PREFIX, DAY_PARTITION, coverage_table_prefix
from tapcase_sensor.lake.schema import SURICATA_EVENT_TYPES, TABLES, Table

BEGIN_MARKER = "  # BEGIN GENERATED GLUE TABLES (tapcase lake gen-glue; do not edit by hand)"
END_MARKER = "  # END GENERATED GLUE TABLES"
TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
FLOW_LOGS_LOGICAL_ID = "VpcFlowLogsTable"
COVERAGE_LOGICAL_ID = "CoverageEventsTable"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
#: First day the date projection covers (VPC Flow Logs to S3 exist since 2018).
FLOW_LOGS_FIRST_DAY = "2018/01/01"


def logical_id(table: Table) -> str:
    """``zeek_conn`` -> ``ZeekConnTable``."""
    return "".join(part.capitalize() for part in table.name.split("_")) + "Table"


def _yaml_str(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./-]+", value) and value not in {"true", "false", "yes", "no", "null"}:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def location_template(table: Table) -> str:
    """``storage.location.template`` (CloudFormation ``!Sub`` syntax, ``${!x}`` = literal ``${x}``)."""
    parts = "/".join(f"{key}=${{!{key}}}" for key in table.partition_keys)
    return f"s3://${{EvidenceBucket}}/{CURATED_PREFIX}/{table.name}/{parts}/"


def table_parameters(table: Table) -> list[tuple[str, str]]:
    """Table parameters other than the location template (which needs ``!Sub``)."""
    params = [
        ("classification", "parquet"),
        ("parquet.compression", "ZSTD"),
        ("projection.enabled", "true"),
        ("projection.investigation_id.type", "injected"),
    ]
    if "event_type" in table.partition_keys:
        params += [
            ("projection.event_type.type", "enum"),
            ("projection.event_type.values", ",".join(SURICATA_EVENT_TYPES)),
        ]
    return params


def render_table(table: Table) -> str:
    lines = [
        f"  {logical_id(table)}:",
        "    Type: AWS::Glue::Table",
        "    Properties:",
        "      CatalogId: !Ref AWS::AccountId",
        "      DatabaseName: !Ref ForensicsDatabase",
        "      TableInput:",
        f"        Name: {table.name}",
        f"        Description: {_yaml_str(table.description)}",
        "        TableType: EXTERNAL_TABLE",
        "        Parameters:",
    ]
    for key, value in table_parameters(table):
        lines.append(f"          {key}: {_yaml_str(value)}")
    lines.append(f"          storage.location.template: !Sub \"{location_template(table)}\"")
    lines.append("        PartitionKeys:")
    for key in table.partition_keys:
        lines.append(f"          - {{Name: {key}, Type: string}}")
    lines += [
        "        StorageDescriptor:",
        f"          Location: !Sub \"s3://${{EvidenceBucket}}/{table.location_prefix()}\"",
        f"          InputFormat: {PARQUET_INPUT}",
        f"          OutputFormat: {PARQUET_OUTPUT}",
        "          SerdeInfo:",
        f"            SerializationLibrary: {PARQUET_SERDE}",
        "          Columns:",
    ]
    for column in table.columns:
        lines.append(f"            - {{Name: {column.name}, Type: {_yaml_str(column.type)}}}")
    return "\n".join(lines)


def render_flow_logs_table() -> str:
    """The VPC Flow Logs table (condition ``HasFlowLogs``); its location follows ``FlowLogsPrefix``."""
    root = "s3://${FlowLogsBucket}/${FlowLogsPrefix}/AWSLogs/"
    bare = "s3://${FlowLogsBucket}/AWSLogs/"
    template = "${!accid}/vpcflowlogs/${!region}/${!day}"
    lines = [
        f"  {FLOW_LOGS_LOGICAL_ID}:",
        "    Type: AWS::Glue::Table",
        "    Condition: HasFlowLogs",
        "    Properties:",
        "      CatalogId: !Ref AWS::AccountId",
        "      DatabaseName: !Ref ForensicsDatabase",
        "      TableInput:",
        f"        Name: {flow_logs.TABLE}",
        "        Description: VPC Flow Logs (default format, version 2) as delivered to S3, read for the hour before the finding",
        "        TableType: EXTERNAL_TABLE",
        "        Parameters:",
        "          classification: csv",
        '          skip.header.line.count: "1"',
        '          projection.enabled: "true"',
        "          projection.accid.type: enum",
        "          projection.accid.values: !Ref AWS::AccountId",
        "          projection.region.type: enum",
        "          projection.region.values: !Ref AWS::Region",
        "          projection.day.type: date",
        f'          projection.day.range: "{FLOW_LOGS_FIRST_DAY},NOW"',
        f"          projection.day.format: {flow_logs.DAY_FORMAT}",
        '          projection.day.interval: "1"',
        "          projection.day.interval.unit: DAYS",
        "          storage.location.template: !If",
        "            - HasFlowLogsPrefix",
        f'            - !Sub "{root}{template}"',
        f'            - !Sub "{bare}{template}"',
        "        PartitionKeys:",
    ]
    lines += [f"          - {{Name: {key}, Type: string}}" for key in flow_logs.PARTITION_KEYS]
    lines += [
        "        StorageDescriptor:",
        f'          Location: !If [HasFlowLogsPrefix, !Sub "{root}", !Sub "{bare}"]',
        f"          InputFormat: {TEXT_INPUT}",
        f"          OutputFormat: {TEXT_OUTPUT}",
        "          SerdeInfo:",
        f"            SerializationLibrary: {LAZY_SIMPLE_SERDE}",
        "            Parameters:",
        '              field.delim: " "',
        '              serialization.format: " "',
        "          Columns:",
    ]
    lines += [f"            - {{Name: {_yaml_str(name)}, Type: {kind}}}" for name, kind in flow_logs.COLUMNS]
    return "\n".join(lines)


def render_coverage_table() -> str:
    """Coverage mode's rolling logs: JSON lines, one folder per day (date projection)."""
    location = f"s3://${{EvidenceBucket}}/{coverage_table_prefix(coverage_logs.TABLE)}"
    lines = [
        f"  {COVERAGE_LOGICAL_ID}:",
        "    Type: AWS::Glue::Table",
        "    Properties:",
        "      CatalogId: !Ref AWS::AccountId",
        "      DatabaseName: !Ref ForensicsDatabase",
        "      TableInput:",
        f"        Name: {coverage_logs.TABLE}",
        "        Description: Coverage mode's rolling logs (the sensor fleet's Suricata events of covered instances), by day",
        "        TableType: EXTERNAL_TABLE",
        "        Parameters:",
        "          classification: json",
        '          projection.enabled: "true"',
        f"          projection.{DAY_PARTITION}.type: date",
        f'          projection.{DAY_PARTITION}.range: "{coverage_logs.FIRST_DAY},NOW"',
        f"          projection.{DAY_PARTITION}.format: {coverage_logs.DAY_FORMAT}",
        f'          projection.{DAY_PARTITION}.interval: "1"',
        f"          projection.{DAY_PARTITION}.interval.unit: DAYS",
        f'          storage.location.template: !Sub "{location}{DAY_PARTITION}=${{!{DAY_PARTITION}}}"',
        "        PartitionKeys:",
        f"          - {{Name: {DAY_PARTITION}, Type: string}}",
        "        StorageDescriptor:",
        f'          Location: !Sub "{location}"',
        f"          InputFormat: {TEXT_INPUT}",
        f"          OutputFormat: {TEXT_OUTPUT}",
        "          SerdeInfo:",
        f"            SerializationLibrary: {JSON_SERDE}",
        "          Columns:",
    ]
    lines += [f"            - {{Name: {name}, Type: {kind}}}" for name, kind in coverage_logs.COLUMNS]
    return "\n".join(lines)


def render_glue_block() -> str:
    """The lines between the markers (without the markers), ending with a newline."""
    tables = [render_table(t) for t in TABLES.values()] + [render_flow_logs_table(), render_coverage_table()]
    return "\n\n".join(tables) + "\n"


def _split(text: str) -> tuple[str, str, str]:
    begin = text.find(BEGIN_MARKER + "\n")
    end = text.find(END_MARKER)
    if begin < 0 or end < 0 or end < begin:
        raise ValueError("template.yaml has no generated Glue table markers")
    head = text[: begin + len(BEGIN_MARKER) + 1]
    return head, text[begin + len(BEGIN_MARKER) + 1 : end], text[end:]


def current_block(template: Path = TEMPLATE) -> str:
    return _split(template.read_text(encoding="utf-8"))[1]


def update_template(template: Path = TEMPLATE) -> bool:
    """Rewrite the generated block; True when the file changed."""
    text = template.read_text(encoding="utf-8")
    head, block, tail = _split(text)
    new_block = render_glue_block()
    if block == new_block:
        return False
    template.write_text(head + new_block + tail, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--check", action="store_true", help="exit 1 if the block is out of date")
    args = parser.parse_args(argv)
    if args.check:
        ok = current_block(args.template) == render_glue_block()
        print("Glue tables are up to date" if ok else "Glue tables differ from the schema: run python -m tapcase.lake_glue")
        return 0 if ok else 1
    changed = update_template(args.template)
    print(f"{args.template}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
