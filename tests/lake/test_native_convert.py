"""Native (Arrow) curation gives the rows of the Python path; odd input: mixed types, long and
truncated lines, invalid UTF-8; the pieces: JSON text for ``extra``, maps, blocks, byte bounds."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tapcase_sensor.errors import LogParseError
from tapcase_sensor.lake.arrow_conform import conform, extra_json, join_present, to_json
from tapcase_sensor.lake.blocks import Block, EventTypeGroups, OversizedLine, read_blocks
from tapcase_sensor.lake.curate import CurateResult, Curator, curate, discover_logs
from tapcase_sensor.lake.schema import TABLES
from tapcase_sensor.lake.writer import arrow_schema
from tests.conftest import shared
from tests.lake.synth import generate
from tests.lake.test_curate import EVE_DNS


def _rows(root: Path) -> dict[str, list[dict]]:
    """Rows per partition folder; ``extra`` parsed (JSON-equal is the contract, see to_json)."""
    out: dict[str, list[dict]] = {}
    for path in sorted((root / "investigations/curated").rglob("*.parquet")):
        rows = pq.read_table(path).to_pylist()
        for row in rows:
            if row.get("extra") is not None:
                row["extra"] = json.loads(row["extra"])
        out.setdefault(path.parent.relative_to(root).as_posix(), []).extend(rows)
    return out


def _both(logs: Path, out: Path, **options) -> tuple[CurateResult, dict, dict]:
    sources, _ = discover_logs(logs)
    native = curate(sources, out / "native", "cmp-1", **options)
    python = curate(sources, out / "python", "cmp-1", native=False, **options)
    assert native.rows == python.rows
    return native, _rows(out / "native"), _rows(out / "python")


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for partition in a:
        assert len(a[partition]) == len(b[partition]), partition
        for i, (x, y) in enumerate(zip(a[partition], b[partition], strict=True)):
            assert x == y, f"{partition} row {i}: " + repr({k: (x[k], y[k]) for k in x if x[k] != y[k]})


def _copy_btest(folder: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for path in shared("zeek", "zeek-btest", folder).iterdir():
        if path.suffix in (".json", ".log", ".tsv"):
            (dest / path.name).write_bytes(path.read_bytes().replace(b"XXXXXXXXXX.XXXXXX", b"1700000000.250000"))
    return dest


def _brim_json_head(dest: Path, lines: int = 3000) -> Path:
    """The first lines of each brimdata Zeek JSON log (ISO times, _path, _write_ts), gzip kept."""
    dest.mkdir(parents=True)
    for path in sorted(shared("zeek", "brimdata-zed-sample-data", "zeek-json").glob("*.json.gz")):
        head = gzip.decompress(path.read_bytes()).split(b"\n")[:lines]
        (dest / path.name).write_bytes(gzip.compress(b"\n".join(head) + b"\n"))
    return dest


@pytest.mark.parametrize(
    "dataset", ["suri-out", "zeek-docs", "btest-http-json", "eve-dns-shapes", "planted", "brim-iso-json"]
)
def test_native_and_python_paths_give_the_same_rows(tmp_path, dataset):
    if dataset == "suri-out":  # real Suricata 7.0.10 EVE: alerts, flows, DNS v2, TLS, stats...
        logs = shared("suri-out")
    elif dataset == "zeek-docs":  # stock Zeek JSON
        logs = shared("zeek", "zeek-docs-json-examples")
    elif dataset == "btest-http-json":  # Zeek's own JSON with non-printable characters, a banner line
        logs = _copy_btest("http-non-printable-json", tmp_path / "logs")
        (logs / "http.log.tsv").unlink()
    elif dataset == "brim-iso-json":  # real Zeek 6.2 JSON with ISO times, _path and _write_ts
        logs = _brim_json_head(tmp_path / "logs")
    elif dataset == "eve-dns-shapes":  # Suricata 7 and 8 DNS, alert-nested DNS, grouped answers
        logs = tmp_path / "logs"
        logs.mkdir()
        (logs / "eve.json").write_text("".join(json.dumps(r) + "\n" for r in EVE_DNS))
    else:
        logs = tmp_path / "logs"
        generate(logs, seed=3, background_conns=400)
    native, a, b = _both(logs, tmp_path, block_bytes=16384)
    _assert_same(a, b)
    assert sum(native.rows.values()) > 0
    if dataset in ("planted", "brim-iso-json"):  # all of it natively
        assert all(s["python_rows"] == 0 for s in native.sources), native.sources
    if dataset == "suri-out":  # stats events (hundreds of counters) go the Python way, the rest not
        stats = sum(len(rows) for part, rows in a.items() if part.endswith("event_type=stats"))
        assert sum(s["python_rows"] for s in native.sources) == stats == 31


def test_a_field_whose_type_changes_between_lines(tmp_path):
    # A port written as a string, a float, a bool; an unknown key int then object: Arrow cannot read
    # such blocks as they are; those lines go the Python way and are coerced as before.
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = []
    for i in range(200):
        rec = {"ts": 1700000000 + i, "uid": f"C{i}", "id.orig_h": "10.0.0.1", "id.resp_p": 53, "proto": "udp",
               "custom": i}
        if i == 50:
            rec["id.resp_p"] = "53"
        if i == 120:
            rec["id.resp_p"] = 53.0
        if i == 121:
            rec["id.resp_p"] = True
        if i == 150:
            rec["custom"] = {"nested": [1, "two"]}
        lines.append(json.dumps(rec))
    (logs / "conn.log").write_text("\n".join(lines) + "\n")
    eve = [{"timestamp": "2024-01-01T00:00:00.000001+0000", "event_type": "flow", "dest_port": 80 if i != 7 else "80",
            "flow": {"start": "2024-01-01T00:00:00+0000", "age": i}} for i in range(40)]
    (logs / "eve.json").write_text("".join(json.dumps(r) + "\n" for r in eve))
    native, a, b = _both(logs, tmp_path, block_bytes=2048)
    _assert_same(a, b)
    conn = a["investigations/curated/zeek_conn/investigation_id=cmp-1"]
    assert [r["id_resp_p"] for r in conn[49:52]] == [53, 53, 53]
    assert conn[120]["id_resp_p"] == 53 and conn[121]["id_resp_p"] == 1  # bool -> 1, as coerce does
    assert conn[150]["extra"] == {"custom": {"nested": [1, "two"]}} and conn[149]["extra"] == {"custom": 149}
    assert [r["ts"] for r in conn[:2]] == [1700000000.0, 1700000001.0]
    flows = a["investigations/curated/suricata_eve/investigation_id=cmp-1/event_type=flow"]
    assert [r["dest_port"] for r in flows[6:9]] == [80, 80, 80]
    assert flows[0]["ts"] == 1704067200.0  # flow.start, not timestamp
    python_rows = {s["log_type"]: s["python_rows"] for s in native.sources}
    assert 0 < python_rows["conn"] < 200 and 0 < python_rows["eve"] < 40


def test_a_line_over_the_limit_is_skipped_and_reported(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    rec = {"timestamp": "2024-01-01T00:00:00.5+0000", "event_type": "http", "http": {"url": "/x"}}
    long_ok = dict(rec, http={"url": "/" + "a" * 6000})  # longer than a block, under the limit
    too_long = dict(rec, http={"url": "/" + "b" * 20000})
    lines = [rec, long_ok, rec, too_long, rec]
    (logs / "eve.json").write_text("".join(json.dumps(r) + "\n" for r in lines))
    sources, _ = discover_logs(logs)
    for native in (True, False):
        result = curate(sources, tmp_path / f"out-{native}", "long-1", native=native,
                        block_bytes=1024, max_line_bytes=10000)
        assert result.rows == {"suricata_eve": 4}
        [skip] = result.skipped
        assert skip["path"].endswith("eve.json")
        assert "line 4: 20" in skip["reason"] and "over the 10000-byte line limit" in skip["reason"]
        urls = [r["http"]["url"] for rows in _rows(tmp_path / f"out-{native}").values() for r in rows]
        assert urls == ["/x", "/" + "a" * 6000, "/x", "/x"]


def test_a_truncated_last_line_is_skipped_and_reported(tmp_path):
    # An engine stopped mid-write leaves a last line without its end (and without a newline).
    logs = tmp_path / "logs"
    logs.mkdir()
    good = json.dumps({"timestamp": "2024-01-01T00:00:00+0000", "event_type": "dns", "dns": {"type": "query"}})
    (logs / "eve.json").write_text(good + "\n" + good + "\n" + good[:37])
    (logs / "conn.log").write_text('{"ts":1.5,"uid":"C1"}\n{"ts":2.5,"uid":"C2"}\n{"ts":3.5,"ui')
    sources, _ = discover_logs(logs)
    for native in (True, False):
        result = curate(sources, tmp_path / f"out-{native}", "trunc-1", native=native)
        assert result.rows == {"suricata_eve": 2, "zeek_conn": 2}
        reasons = sorted((Path(s["path"]).name, s["reason"]) for s in result.skipped)
        assert reasons == [
            ("conn.log", "line 3: truncated last line (13 bytes, no newline) not curated"),
            ("eve.json", "line 3: truncated last line (37 bytes, no newline) not curated"),
        ]


def test_a_last_line_without_newline_is_curated(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "conn.log").write_text('{"ts":1.5,"uid":"C1"}\n{"ts":2.5,"uid":"C2"}')
    result = curate(discover_logs(logs)[0], tmp_path / "out", "tail-1")
    assert result.rows == {"zeek_conn": 2} and result.skipped == []


@pytest.mark.parametrize("native", [True, False])
def test_an_invalid_line_fails_with_its_line_number(tmp_path, native):
    # A complete line that is not JSON is a damaged log, not a stopped engine: as before, an error.
    logs = tmp_path / "logs"
    logs.mkdir()
    good = json.dumps({"timestamp": "2024-01-01T00:00:00+0000", "event_type": "flow"})
    (logs / "eve.json").write_text("\n".join([good] * 40 + ["{not json"] + [good] * 40) + "\n")
    with pytest.raises(LogParseError, match=r"eve.json:41: invalid JSON"):
        curate(discover_logs(logs)[0], tmp_path / "out", "bad-1", native=native, block_bytes=1024)
    (logs / "eve.json").write_text(good + "\n" + '{"no_event_type": 1}\n')
    with pytest.raises(LogParseError, match=r"eve.json:2: not an EVE record"):
        curate(discover_logs(logs)[0], tmp_path / "out2", "bad-2", native=native)


def test_invalid_utf8_becomes_the_replacement_character(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    line = b'{"timestamp":"2024-01-01T00:00:00+0000","event_type":"http","http":{"url":"/a\xffb"}}\n'
    (logs / "eve.json").write_bytes(line * 3)
    native, a, b = _both(logs, tmp_path)
    _assert_same(a, b)
    [rows] = a.values()
    assert [r["http"]["url"] for r in rows] == ["/a\ufffdb"] * 3


def test_gzip_eve_is_read_natively(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "eve.json.gz").write_bytes(gzip.compress(shared("suri-out", "rules_bug-28", "eve.json").read_bytes()))
    shutil.copy(shared("suri-out", "rules_bug-28", "eve.json"), tmp_path / "plain.json")
    native, a, b = _both(logs, tmp_path)
    _assert_same(a, b)
    assert native.rows == {"suricata_eve": 7}


# ---------------------------------------------------------------------------------------------
# The pieces
# ---------------------------------------------------------------------------------------------


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def test_to_json_writes_what_json_dumps_writes():
    values = [
        {"a": 1, "b": "x\"y\\z", "c": [1.5, 2.0, -0.0], "d": True, "e": {"f": [{"g": "h"}]}},
        {"a": -7, "b": "", "c": [], "d": False, "e": {"f": []}},
        {"a": 2**62, "b": "plain", "c": [0.0001, 123456.789, 99999999999999.9], "d": None, "e": None},
    ]
    arr = pa.array(values)
    text, bad = to_json(arr)
    assert bad.to_pylist() == [False, False, True]  # Arrow writes 9.99999999999999e+13
    text, bad = to_json(arr.slice(0, 2))
    assert bad is None
    values = values[:2]
    expected = [_dumps({k: v for k, v in value.items() if v is not None}) for value in values]
    assert text.to_pylist() == expected
    rng = random.Random(5)
    floats = [rng.uniform(-1e9, 1e9) for _ in range(500)] + [rng.uniform(0.0001, 1) for _ in range(500)]
    floats += [round(rng.uniform(1.6e9, 1.8e9), 6) for _ in range(500)]  # epoch times
    text, bad = to_json(pa.array(floats))
    assert bad is None and text.to_pylist() == [repr(f) for f in floats]
    # Wherever Arrow's text could differ, the row is flagged; elsewhere it is repr()'s.
    floats = [rng.uniform(-1e17, 1e17) * 10 ** rng.randint(-12, 0) for _ in range(2000)]
    text, bad = to_json(pa.array(floats))
    kept = [(t, f) for t, f, b in zip(text.to_pylist(), floats, bad.to_pylist(), strict=True) if not b]
    assert len(kept) > 500 and all(t == repr(f) for t, f in kept)


def test_to_json_leaves_what_it_cannot_write_exactly_to_the_python_way():
    arr = pa.array(["caf\u00e9", "tab\there", "ok", None, "del\x7f"])
    text, bad = to_json(arr)
    assert bad.to_pylist() == [True, True, False, False, True]
    assert text[2].as_py() == '"ok"' and text[3].as_py() is None
    _, bad = to_json(pa.array([1e-5, 1.5, 1e16, None, 1e15]))  # exponents in repr() or Arrow's text
    assert bad.to_pylist() == [True, False, True, False, True]


def test_extra_json_sorts_keys_and_leaves_out_rows_without_extra():
    columns = {"zeta": pa.array([1, None, None]), "alpha": pa.array([None, "x", None])}
    text, bad = extra_json(columns, 3)
    assert bad is None
    assert text.to_pylist() == ['{"zeta":1}', '{"alpha":"x"}', None]


def test_join_present_keeps_rows_where_every_part_is_null():
    # pyarrow's binary_join_element_wise(null_handling="skip") drops such rows: not this one.
    parts = [pa.array([None, "a", None], pa.string()), pa.array([None, None, "b"], pa.string())]
    assert join_present(parts).to_pylist() == ["", "a", "b"]


def test_conform_projects_structs_and_makes_maps():
    target = arrow_schema(TABLES["suricata_eve"]).field("alert").type
    inferred = pa.array([
        {"signature_id": 1, "severity": 2, "metadata": {"a": ["1"], "b": ["2", "3"]}, "unknown": 5},
        None,
        {"signature_id": 3, "metadata": {"b": ["4"]}},
    ])
    out, bad = conform(inferred, target)
    assert bad is None
    rows = out.to_pylist()
    assert rows[1] is None
    assert rows[0]["signature_id"] == 1 and rows[0]["metadata"] == [("a", ["1"]), ("b", ["2", "3"])]
    assert rows[2]["severity"] is None and rows[2]["metadata"] == [("b", ["4"])]
    _, bad = conform(pa.array([{"signature_id": "x"}, {"signature_id": None}]), target)
    assert bad.to_pylist() == [True, False]


def test_blocks_keep_line_numbers_and_skip_long_lines(tmp_path):
    path = tmp_path / "x.log"
    lines = [b'{"n":%d}' % i for i in range(100)]
    lines[40] = b'{"long":"' + b"x" * 3000 + b'"}'
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    items = list(read_blocks(path, block_bytes=256, max_line_bytes=2000))
    assert [i.line for i in items if isinstance(i, OversizedLine)] == [41]
    numbered = {}
    for item in items:
        if isinstance(item, Block):
            for index, line in enumerate(item.lines):
                numbered[item.line_number(index)] = line.rstrip(b"\r")
    assert sorted(numbered) == [n for n in range(1, 101) if n != 41]
    assert all(numbered[n] == lines[n - 1] for n in numbered)
    assert not any(isinstance(i, Block) and i.open_tail for i in items)


def test_event_type_groups_keep_order_and_numbers():
    lines = [b'{"event_type":"%s","i":%d}' % (b"flow" if i % 3 else b"dns", i) for i in range(30)]
    groups = EventTypeGroups(group_bytes=10**6)
    out = groups.add(Block(b"\n".join(lines) + b"\n", 10)) + groups.flush()
    by_key = {json.loads(g.lines[0])["event_type"]: g for g in out}
    assert [json.loads(line)["i"] for line in by_key["dns"].lines] == list(range(0, 30, 3))
    assert [by_key["flow"].line_number(i) for i in range(3)] == [11, 12, 14]


def test_curator_bounds_the_arrow_data_it_holds(tmp_path):
    table = TABLES["zeek_conn"]
    schema = arrow_schema(table)
    batch = pa.Table.from_pylist([{"uid": f"C{i}", "history": "ShADadFf" * 20} for i in range(2000)], schema=schema)
    cur = Curator(tmp_path, "mem-1", max_buffered_bytes=200_000)
    for _ in range(20):
        cur.add_batch(table, batch)
        assert sum(w.batched_bytes for w in cur._writers.values()) <= 200_000 + batch.get_total_buffer_size()
    cur.close()
    [path] = cur.files
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 40_000 and meta.num_row_groups > 1
