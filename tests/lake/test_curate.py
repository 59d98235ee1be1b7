"""Curation: raw records -> Parquet (types, names, partitions, bounded memory, re-runs)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tapcase.analyze import DATABASE, duckdb_connection
from tapcase.lake_views import create_parquet_views, create_raw_json_views
from tapcase_sensor.lake.curate import Curator, curate, discover_logs
from tapcase_sensor.lake.schema import TABLES, suricata_partition
from tests.conftest import shared
from tests.lake.helpers import first_difference


def _read(root: Path, table: str) -> list[dict]:
    files = sorted((root / "investigations/curated" / table).rglob("*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def test_dotted_names_types_and_extra(tmp_path):
    # Given Zeek records with dotted keys, odd types and a field the schema does not know
    with Curator(tmp_path, "inv-1") as cur:
        cur.add_zeek("conn", {"ts": 1.5, "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": "1234",
                              "id.resp_h": "8.8.8.8", "id.resp_p": 53.0, "proto": "udp", "duration": "0.25",
                              "orig_bytes": 2**70, "local_orig": "T", "tunnel_parents": ["Cx"],
                              "my_custom_field": {"a": 1}})
        assert cur.add_zeek("loaded_scripts", {"name": "x"}) is False
    # Then: renamed, coerced (or NULL when impossible), unknown fields kept as JSON
    [row] = _read(tmp_path, "zeek_conn")
    assert row["id_orig_h"] == "10.0.0.1" and row["id_orig_p"] == 1234 and row["id_resp_p"] == 53
    assert row["duration"] == 0.25 and row["orig_bytes"] is None and row["local_orig"] is True
    assert row["tunnel_parents"] == ["Cx"]
    assert json.loads(row["extra"]) == {"my_custom_field": {"a": 1}}


def test_row_groups_files_and_bounded_buffers(tmp_path):
    cur = Curator(tmp_path, "inv-2", batch_rows=100, row_group_rows=300, file_rows=1000, max_buffered_rows=250)
    peak = 0
    for i in range(2500):
        cur.add_zeek("dns", {"ts": float(i), "uid": f"C{i}", "query": f"q{i}.example.com"})
        cur.add_eve({"event_type": "flow" if i % 2 else "mystery", "ts": float(i), "timestamp": "x",
                     "src_ip": "10.0.0.1", "flow": {"bytes_toserver": i}})
        peak = max(peak, sum(len(w.records) for w in cur._writers.values()))
    rows = cur.close()
    assert peak <= 250
    assert rows == {"suricata_eve": 2500, "zeek_dns": 2500}
    dns_files = sorted((tmp_path / "investigations/curated/zeek_dns/investigation_id=inv-2").glob("*.parquet"))
    assert [f.name for f in dns_files] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    for f in dns_files:
        meta = pq.ParquetFile(f).metadata
        assert all(meta.row_group(i).num_rows <= 300 for i in range(meta.num_row_groups))
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in dns_files) == 2500
    eve = tmp_path / "investigations/curated/suricata_eve/investigation_id=inv-2"
    assert sorted(p.name for p in eve.iterdir()) == ["event_type=flow", "event_type=other"]
    assert [r["query"] for r in _read(tmp_path, "zeek_dns")][:3] == ["q0.example.com", "q1.example.com", "q2.example.com"]


def test_rerun_replaces_the_partition(tmp_path):
    for n in (5, 3):
        with Curator(tmp_path, "inv-3") as cur:
            for i in range(n):
                cur.add_zeek("weird", {"ts": float(i), "name": "x"})
    assert len(_read(tmp_path, "zeek_weird")) == 3


@pytest.mark.parametrize("bad", ["", "UP", "../etc", "a b c", "x" * 64, "investigation_id=x"])
def test_investigation_id_is_checked(tmp_path, bad):
    with pytest.raises(ValueError):
        Curator(tmp_path, bad)


def test_suricata_partitions():
    assert suricata_partition("alert") == "alert"
    assert suricata_partition("quic") == "quic"
    assert suricata_partition("something-new") == "other"
    assert suricata_partition(None) == "other"


def test_discover_logs_by_content(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    src = shared("zeek", "zeek-docs-json-examples", "conn.ndjson").read_bytes()
    (logs / "whatever.gz").write_bytes(gzip.compress(src))
    (logs / "http.log").write_bytes(shared("zeek", "zeek-btest", "wikipedia", "http.log").read_bytes())
    (logs / "eve.json").write_bytes(shared("suri-out", "rules_bug-28", "eve.json").read_bytes())
    (logs / "notes.txt").write_text("hello\n")
    (logs / "analyzer.log").write_text("#separator \\x09\n#path\tanalyzer\n#fields\tts\n#types\ttime\n1.0\n")
    sources, skipped = discover_logs(logs)
    assert {(s.path.name, s.kind, s.log_type) for s in sources} == {
        ("eve.json", "suricata", "eve"),
        ("http.log", "zeek", "http"),
    }
    reasons = {s["path"]: s["reason"] for s in skipped}
    assert "no curated table" in reasons["analyzer.log"]
    assert "not a Zeek or Suricata log" in reasons["notes.txt"]
    # stock JSON without _path and with a name that does not say: log type unknown -> skipped
    assert "whatever.gz" in reasons


def test_zeek_json_and_tsv_shapes_curate_to_the_same_rows(tmp_path):
    # Zeek's own test baseline: the same HTTP records written as JSON and as TSV (Zeek's test
    # suite masks the timestamps: put a number back, as PROVENANCE.md says)
    folder = shared("zeek", "zeek-btest", "http-non-printable-json")
    rows = {}
    for name in ("http.log.json", "http.log.tsv"):
        logs = tmp_path / name.replace(".", "-")
        logs.mkdir()
        (logs / name).write_bytes((folder / name).read_bytes().replace(b"XXXXXXXXXX.XXXXXX", b"1700000000.250000"))
        sources, _ = discover_logs(logs)
        assert [(s.kind, s.log_type) for s in sources] == [("zeek", "http")]
        curate(sources, tmp_path / f"out-{logs.name}", "inv-4")
        rows[name] = _read(tmp_path / f"out-{logs.name}", "zeek_http")
    assert len(rows["http.log.json"]) == 4
    assert rows["http.log.json"] == rows["http.log.tsv"]


EVE_DNS = [
    # Suricata 8 (DNS v3): request/response with queries[]
    {"timestamp": "2024-01-01T00:00:00.000001+0000", "event_type": "dns", "src_ip": "10.0.0.1",
     "dns": {"version": 3, "type": "request", "id": 1, "queries": [{"rrname": "a.example", "rrtype": "A"}]}},
    {"timestamp": "2024-01-01T00:00:00.100001+0000", "event_type": "dns", "src_ip": "10.0.0.1",
     "dns": {"version": 3, "type": "response", "id": 1, "rcode": "NOERROR", "queries": [{"rrname": "a.example", "rrtype": "A"}],
             "answers": [{"rrname": "a.example", "rrtype": "A", "ttl": 60, "rdata": "192.0.2.1"}]}},
    # Suricata 7 grouped-only answers
    {"timestamp": "2024-01-01T00:00:01+0000", "event_type": "dns", "src_ip": "10.0.0.2",
     "dns": {"version": 2, "type": "answer", "id": 2, "rrname": "b.example", "rrtype": "A", "rcode": "NOERROR",
             "grouped": {"A": ["192.0.2.2", "192.0.2.3"], "CNAME": ["c.example"]}}},
    # Suricata 7 alert with the query list nested
    {"timestamp": "2024-01-01T00:00:02.5+0000", "event_type": "alert", "src_ip": "10.0.0.3",
     "alert": {"signature_id": 1, "signature": "x", "severity": 2, "metadata": {"k": ["v1", "v2"]}},
     "dns": {"query": [{"type": "query", "id": 3, "rrname": "d.example", "rrtype": "TXT", "tx_id": 0, "opcode": 0}]}},
    # no dns at all
    {"timestamp": "2024-01-01T00:00:03Z", "event_type": "flow", "src_ip": "10.0.0.4", "flow": {"age": 3, "end": "x"}},
]


def test_eve_dns_shapes_read_the_same_raw_and_curated(tmp_path):
    eve = tmp_path / "eve.json"
    eve.write_text("".join(json.dumps(r) + "\n" for r in EVE_DNS))
    curate(discover_logs(tmp_path)[0], tmp_path / "out", "inv-5")
    parquet = duckdb_connection()
    create_parquet_views(parquet, DATABASE, tmp_path / "out")
    raw = duckdb_connection()
    create_raw_json_views(raw, DATABASE, {"suricata_eve": [eve]}, "inv-5")
    sql = ("SELECT ts, event_type, src_ip, dns, alert, flow FROM forensics.suricata_eve "
           "ORDER BY ts")
    a = [list(r) for r in parquet.execute(sql).fetchall()]
    b = [list(r) for r in raw.execute(sql).fetchall()]
    assert first_difference(a, b) is None
    dns = [r[3] for r in a]
    assert [d["type"] if d else None for d in dns] == ["request", "response", "response", "request", None]
    assert dns[2]["answers"][0] == {"rrname": None, "rrtype": "A", "ttl": None, "rdata": "192.0.2.2"}
    assert dns[3]["queries"] == [{"rrname": "d.example", "rrtype": "TXT"}]
    assert a[0][0] == 1704067200.000001
    assert "end" in TABLES["suricata_eve"].column("flow").type


def test_parallel_curation_writes_the_same_data(planted_logs, tmp_path):
    sources, _ = discover_logs(planted_logs)
    serial = curate(sources, tmp_path / "serial", "inv-6")
    parallel = curate(sources, tmp_path / "parallel", "inv-6", workers=2)
    assert serial.rows == parallel.rows
    assert [p.relative_to(tmp_path / "serial") for p in serial.files] == [
        p.relative_to(tmp_path / "parallel") for p in parallel.files
    ]
    for table in ("zeek_conn", "suricata_eve"):
        assert _read(tmp_path / "serial", table) == _read(tmp_path / "parallel", table)
