"""One schema source: the Glue tables of template.yaml, the Parquet files and the DuckDB views
all come from tapcase_sensor.lake.schema; these tests fail when any of them diverges."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tapcase.analyze import duckdb_connection
from tapcase.lake_glue import current_block, logical_id, render_glue_block
from tapcase.lake_views import (
    create_parquet_views,
    create_raw_json_views,
    view_columns,
)
from tapcase.localcloud.cfn import load_template
from tapcase_sensor.lake.curate import arrow_schema
from tapcase_sensor.lake.schema import SURICATA_EVENT_TYPES, TABLES, parse_type
from tests.conftest import REPO

TEMPLATE = load_template(REPO / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
ZEEK_REQUIRED = {"conn", "dns", "http", "ssl", "x509", "files", "notice", "weird", "ssh"}


def test_template_block_is_generated_from_the_schema():
    assert current_block() == render_glue_block(), "run: .venv/bin/python -m tapcase.lake_glue"


def test_cfn_lint_passes_on_the_template():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(REPO / "template.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_required_tables_exist():
    assert {f"zeek_{t}" for t in ZEEK_REQUIRED} <= set(TABLES)
    assert "suricata_eve" in TABLES
    eve = TABLES["suricata_eve"]
    for struct in ("alert", "dns", "tls", "http", "flow", "fileinfo", "anomaly"):
        assert parse_type(eve.column(struct).type).kind == "struct"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_glue_table_matches_schema(name):
    table = TABLES[name]
    resource = RESOURCES[logical_id(table)]
    assert resource["Type"] == "AWS::Glue::Table"
    props = resource["Properties"]
    assert props["DatabaseName"] == {"Ref": "ForensicsDatabase"}
    tin = props["TableInput"]
    assert tin["Name"] == name
    sd = tin["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [(c.name, c.type) for c in table.columns]
    assert [k["Name"] for k in tin["PartitionKeys"]] == list(table.partition_keys)
    assert sd["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    params = tin["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.investigation_id.type"] == "injected"
    template = params["storage.location.template"]["Fn::Sub"]
    assert template.startswith("s3://${EvidenceBucket}/investigations/curated/" + name + "/investigation_id=${!investigation_id}/")
    assert sd["Location"]["Fn::Sub"] == f"s3://${{EvidenceBucket}}/investigations/curated/{name}/"
    if "event_type" in table.partition_keys:
        assert params["projection.event_type.type"] == "enum"
        assert params["projection.event_type.values"].split(",") == list(SURICATA_EVENT_TYPES)
        assert template.endswith("/event_type=${!event_type}/")
    for column in table.columns:
        assert "." not in column.name and column.name == column.name.lower()


def _normal(con, typ: str) -> str:
    return str(con.sqltype(typ))


def _describe(con, name):
    return [(r[0], _normal(con, r[1])) for r in con.execute(f"DESCRIBE forensics.{name}").fetchall()]


def test_views_have_the_schema_columns(planted, tmp_path):
    # Parquet views (tables with and without data) and raw JSON views expose the same columns
    parquet = planted.parquet_con()
    raw = planted.raw_con()
    empty = duckdb_connection()
    create_parquet_views(empty, "forensics", tmp_path)
    create_raw_json_views(empty, "forensics", {}, "empty-1")
    for name, table in TABLES.items():
        expected = [(c, _normal(empty, t)) for c, t in view_columns(table)]
        assert _describe(parquet, name) == expected, name
        assert _describe(raw, name) == expected, name
        assert _describe(empty, name) == expected, name


def test_parquet_files_follow_the_schema(planted):
    files = planted.result.files
    assert files
    for path in files:
        rel = path.relative_to(planted.root).as_posix()
        table = TABLES[rel.split("/")[2]]
        meta = pq.ParquetFile(path)
        assert meta.schema_arrow == arrow_schema(table), rel
        assert rel.startswith(f"investigations/curated/{table.name}/investigation_id=planted-1/")
        for rg in range(meta.metadata.num_row_groups):
            for col in range(meta.metadata.num_columns):
                assert meta.metadata.row_group(rg).column(col).compression == "ZSTD"
