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
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tapcase_contract.layout import CURATED_PREFIX
from tapcase_sensor.lake.schema import SURICATA_EVENT_TYPES, TABLES, Table

BEGIN_MARKER = "  # BEGIN GENERATED GLUE TABLES (tapcase lake gen-glue; do not edit by hand)"
END_MARKER = "  # END GENERATED GLUE TABLES"
TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


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


def render_glue_block() -> str:
    """The lines between the markers (without the markers), ending with a newline."""
    return "\n\n".join(render_table(t) for t in TABLES.values()) + "\n"


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
