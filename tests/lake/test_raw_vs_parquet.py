"""Each query returns the same rows on the raw JSON logs and on the curated Parquet.

The raw side reads the logs with DuckDB's own JSON reader through views generated from the same
schema (tapcase.lake_views), independent of the Python parsers and of pyarrow: a difference
is a curation bug (or a view bug)."""

from __future__ import annotations

import pytest

from tapcase_workflow.querypack import load_pack
from tests.lake.helpers import first_difference
from tests.lake.synth import PLANTED as P

DATASETS = {
    "brim_json": {
        "finding_remote_ips": ["10.47.3.200"],
        "finding_domains": ["wrccdc.org"],
        "finding_ports": [443],
        "suspect_ips": ["10.47.1.100"],
    },
    "suri_all": {
        "finding_remote_ips": ["208.75.250.50"],
        "finding_domains": ["btgrab.com"],
        "finding_ports": [22],
        "suspect_ips": ["192.168.2.7"],
    },
    "planted": {
        "finding_remote_ips": [P.c2],
        "finding_domains": [P.tunnel_domain],
        "finding_ports": [22],
        "suspect_ips": [P.suspect],
    },
}
# the lake's queries (flow_log_peers reads the VPC's flow logs, not the sensor's logs: tests/localcloud/test_flow_logs.py;
# coverage_before the sensor fleet's rolling logs: tests/e2e/test_coverage.py)
QUERIES = [q.name for q in load_pack() if not {"vpc_flow_logs", "coverage_events"} & set(q.tables)]


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("query", QUERIES)
def test_same_rows_on_raw_json_and_parquet(request, dataset, query):
    lake = request.getfixturevalue(dataset)
    params = DATASETS[dataset]
    parquet = lake.pack("parquet", params)[query]
    raw = lake.pack("raw", params)[query]
    assert parquet["columns"] == raw["columns"]
    diff = first_difference(parquet["rows"], raw["rows"])
    assert diff is None, f"{dataset}/{query}: {diff}"


def test_the_comparison_is_not_vacuous(brim_json, suri_all, planted):
    # Most queries return rows on at least one dataset, so equality means something.
    with_rows = {
        name
        for lake, params in ((brim_json, DATASETS["brim_json"]), (suri_all, DATASETS["suri_all"]), (planted, DATASETS["planted"]))
        for name, result in lake.pack("parquet", params).items()
        if result["rows"]
    }
    assert with_rows == set(QUERIES)
