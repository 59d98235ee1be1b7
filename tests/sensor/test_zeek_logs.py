"""Zeek log readers on real Zeek output: brimdata (JSON with ISO ts + TSV), btest baselines,
Zeek's documented JSON lines."""

from __future__ import annotations

import gzip
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tapcase_sensor.errors import LogParseError
from tapcase_sensor.logs import ZeekLog, detect_zeek_log_type, log_type_from_name, read_zeek, sniff_format

from .conftest import BRIM, BTEST, ZEEK, unmask

BRIM_LOGS = sorted(p.name.split(".")[0] for p in (BRIM / "zeek-json").glob("*.json.gz"))


def _same(a: Any, b: Any) -> bool:
    """Equal as logged: floats to the TSV's 6 decimals; TSV cannot tell set{""} from set{}."""
    if a == b:
        return True
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) and isinstance(b, list):
        if a == [""] and b == [] or a == [] and b == [""]:
            return True  # TSV writes "(empty)" for both
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)  # TSV keeps 6 decimals
    return bool(a == b)


# -- brimdata: the same Zeek 6.2 run as JSON (ISO ts, _path) and as TSV ------------------------


@pytest.mark.parametrize("name", BRIM_LOGS)
def test_brimdata_json_and_tsv_agree_row_for_row(name: str) -> None:
    json_log = ZeekLog(BRIM / "zeek-json" / f"{name}.json.gz")
    tsv_log = ZeekLog(BRIM / "zeek-default" / f"{name}.log.gz")
    rows = 0
    for rows, (j, t) in enumerate(zip(json_log, tsv_log, strict=True), start=1):
        assert isinstance(j["ts"], float) and isinstance(t["ts"], float) if "ts" in t else True
        assert "_path" not in j and "_write_ts" not in j
        assert set(j) <= set(t), f"{name} row {rows}: JSON keys not in #fields"
        diff = [k for k, v in t.items() if not _same(j.get(k), v)]
        assert not diff, f"{name} row {rows}: {[(k, j.get(k), t[k]) for k in diff]}"
    assert rows > 0
    assert json_log.shape == "json-iso" and tsv_log.shape == "tsv"
    assert json_log.log_type == tsv_log.log_type == name


def test_brimdata_known_counts() -> None:
    expected = {
        "dns": 53_615, "ssl": 49_474, "weird": 24_202, "analyzer": 16_461, "rdp": 4_122,
        "smtp": 1_188, "x509": 348, "notice": 207, "ssh": 22,
    }  # fmt: skip
    counts = {name: sum(1 for _ in read_zeek(BRIM / "zeek-default" / f"{name}.log.gz")) for name in expected}
    assert counts == expected


def test_brimdata_dns_oracles() -> None:
    first = next(iter(ZeekLog(BRIM / "zeek-json" / "dns.json.gz")))
    assert first["uid"] == "CqKst53mF3det3eDV9"
    assert first["query"] == "ise.wrccdc.org"
    assert first["answers"] == ["ise.wrccdc.cpp.edu", "134.71.3.16"]
    assert first["ts"] == 1521911720.865716  # "2018-03-24T17:15:20.865716Z" exactly
    assert first["id.orig_h"] == "10.47.1.100" and first["id.resp_p"] == 53
    queries = Counter(r["query"] for r in read_zeek(BRIM / "zeek-default" / "dns.log.gz"))
    assert queries.most_common(1) == [("ise.wrccdc.org", 22_160)]


def test_brimdata_notice_and_weird_oracles() -> None:
    notes = Counter(r["note"] for r in read_zeek(BRIM / "zeek-json" / "notice.json.gz"))
    assert notes == {"SSL::Invalid_Server_Cert": 207}
    weird = Counter(r["name"] for r in read_zeek(BRIM / "zeek-default" / "weird.log.gz"))
    assert weird.most_common(2) == [("bad_HTTP_request", 11_821), ("line_terminated_with_single_CR", 11_738)]


def test_tsv_types_are_converted() -> None:
    dns = ZeekLog(BRIM / "zeek-default" / "dns.log.gz")
    row = next(iter(dns))
    assert dns.types is not None and dns.types["TTLs"] == "vector[interval]"
    assert row["TTLs"] == [2230.0, 41830.0]
    assert row["AA"] is False and row["RD"] is True
    assert row["trans_id"] == 36329 and isinstance(row["rtt"], float)
    x509 = next(iter(ZeekLog(BRIM / "zeek-default" / "x509.log.gz")))
    assert isinstance(x509["certificate.not_valid_before"], float)
    certs = next(iter(ZeekLog(BRIM / "zeek-default" / "known_certs.log.gz")))
    assert certs["subject"].startswith("unstructuredName=1315656901\\,564d")  # "\\," in the TSV


def test_conn_tsv_without_close_trailer() -> None:
    log = ZeekLog(ZEEK / "brimdata-zed-conn-tsv" / "conn.log")
    rows = list(log)
    assert len(rows) == 92 and log.log_type == "conn"
    assert rows[0]["uid"] == "C8Tful1TvM3Zf5x8fl" and rows[0]["local_orig"] is None
    assert rows[0]["tunnel_parents"] is None and rows[0]["orig_pkts"] == 10
    assert sorted(r["ts"] for r in rows) != [r["ts"] for r in rows]  # not time-sorted, kept as is


# -- stock Zeek JSON (epoch ts) from Zeek's documentation -------------------------------------


def test_stock_json_from_zeek_docs() -> None:
    docs = ZEEK / "zeek-docs-json-examples"
    conn = ZeekLog(docs / "conn.ndjson")
    rows = list(conn)
    assert conn.shape == "json" and conn.log_type == "conn"
    assert rows[0]["ts"] == 1591367999.305988 and rows[0]["id.resp_p"] == 53
    http = list(read_zeek(docs / "http.ndjson"))
    shared = {r["uid"] for r in rows} & {r["uid"] for r in http}
    assert "C5bLoe2Mvxqhawzqqd" in shared
    assert http[0]["host"] == "testmyids.com" and http[0]["resp_fuids"] == ["FEEsZS1w0Z0VJIb5x4"]
    assert sniff_format(docs / "dns.ndjson") == "zeek-json"


# -- btest baselines (masked timestamps) ------------------------------------------------------


def _btest(tmp_path: Path, folder: str, log: str) -> list[dict[str, Any]]:
    return list(ZeekLog(unmask(BTEST / folder / log, tmp_path)))


def test_btest_vxlan_conn(tmp_path: Path) -> None:
    rows = _btest(tmp_path, "vxlan", "conn.log")
    assert len(rows) == 5
    inner = [r for r in rows if r["proto"] == "icmp"]
    outer = [r for r in rows if r["proto"] == "udp"]
    assert len(inner) == 1 and len(outer) == 4
    assert inner[0]["id.orig_h"] == "10.0.0.1" and inner[0]["id.resp_h"] == "10.0.0.2"
    assert set(inner[0]["tunnel_parents"]) <= {r["uid"] for r in outer} and inner[0]["tunnel_parents"]
    assert {r["service"] for r in outer} == {"vxlan"} and {r["id.resp_p"] for r in outer} == {4789}
    assert all(r["ts"] == 1000000000.0 for r in rows)
    tunnels = _btest(tmp_path, "vxlan", "tunnel.log")
    assert {r["tunnel_type"] for r in tunnels} == {"Tunnel::VXLAN"}


def test_btest_vxlan_encapsulated_http(tmp_path: Path) -> None:
    (row,) = _btest(tmp_path, "vxlan-encapsulated-http", "http.log")
    assert (row["method"], row["host"], row["uri"]) == ("GET", "eu.httpbin.org", "/image/svg")
    assert row["user_agent"] == "curl/7.76.1" and row["status_code"] == 200
    assert row["response_body_len"] == 8984


def test_btest_wikipedia_counts(tmp_path: Path) -> None:
    counts = {log: len(_btest(tmp_path, "wikipedia", f"{log}.log")) for log in ("conn", "dns", "http")}
    assert counts == {"conn": 34, "dns": 34, "http": 14}


def test_btest_tls_and_files(tmp_path: Path) -> None:
    (ssl,) = _btest(tmp_path, "tls-conn-with-extensions", "ssl.log")
    assert ssl["version"] == "TLSv10" and ssl["server_name"] == "ssl.gstatic.com"
    files = _btest(tmp_path, "http-concurrent-range-requests", "files.log")
    assert len(files) == 3 and len({f["fuid"] for f in files}) == 1


def test_btest_every_baseline_parses(tmp_path: Path) -> None:
    for path in sorted(BTEST.glob("*/*.log")):
        log = ZeekLog(unmask(path, tmp_path))
        rows = list(log)
        assert log.shape in ("tsv", "json"), path
        assert log.log_type == path.stem, path
        assert rows, path
        if log.shape == "tsv":
            assert log.types is not None and all(set(r) == set(log.fields or []) for r in rows), path


def test_btest_non_printable_json_and_tsv_agree(tmp_path: Path) -> None:
    # Zeek writes a raw 0x07 as \x07 in TSV and as the literal text "\x07" in JSON: the reader
    # renders TSV escapes the way the JSON writer does, so both shapes give the same strings.
    json_rows = _btest(tmp_path, "http-non-printable-json", "http.log.json")
    tsv_rows = _btest(tmp_path, "http-non-printable-json", "http.log.tsv")
    assert len(json_rows) == len(tsv_rows) == 4
    for j, t in zip(json_rows, tsv_rows, strict=True):
        assert all(_same(j.get(k), t[k]) for k in t), (j, t)
    assert "/printable_\U0001f604" in {r["uri"] for r in tsv_rows}
    assert "/non_printable_\\x07" in {r["uri"] for r in tsv_rows}


# -- streaming, gzip, detection, errors -------------------------------------------------------


def test_reader_streams(tmp_path: Path) -> None:
    # The second data line is broken: the first record is yielded before the reader gets there.
    src = (BTEST / "vxlan" / "conn.log").read_text()
    lines = unmask(BTEST / "vxlan" / "conn.log", tmp_path).read_text().splitlines()
    first_data = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    lines.insert(first_data + 1, "garbage\twith\ttoo\tfew\tfields")
    broken = tmp_path / "conn.log"
    broken.write_text("\n".join(lines) + "\n")
    records = iter(ZeekLog(broken))
    assert next(records)["uid"] == src.split("\n")[first_data].split("\t")[1]
    with pytest.raises(LogParseError, match=r"conn.log:\d+: 5 values for 22 fields"):
        next(records)


def test_gzip_is_detected_by_content(tmp_path: Path) -> None:
    plain = unmask(BTEST / "wikipedia" / "http.log", tmp_path)
    disguised = tmp_path / "http.log"  # gzip content, no .gz suffix
    disguised.write_bytes(gzip.compress(plain.read_bytes()))
    assert list(read_zeek(disguised)) == list(read_zeek(plain))


def test_log_type_detection(tmp_path: Path) -> None:
    assert detect_zeek_log_type(BRIM / "zeek-json" / "dns.json.gz") == "dns"  # _path
    renamed = tmp_path / "whatever.log"
    renamed.write_text((BTEST / "wikipedia" / "dns.log").read_text())
    assert detect_zeek_log_type(renamed) == "dns"  # #path
    assert detect_zeek_log_type(ZEEK / "zeek-docs-json-examples" / "http.ndjson") == "http"  # file name
    assert log_type_from_name("conn.2024-01-01-00-00-00.log.gz") == "conn"
    assert log_type_from_name("dns.00:00:00-01:00:00.log.gz") == "dns"
    assert log_type_from_name("ssl.json") == "ssl"


def test_masked_timestamps_are_an_error_not_a_guess() -> None:
    with pytest.raises(LogParseError, match=r"conn.log:\d+: field ts \(time\)"):
        list(ZeekLog(BTEST / "vxlan" / "conn.log"))
    with pytest.raises(LogParseError, match="invalid JSON"):
        list(ZeekLog(BTEST / "http-get-json" / "http.log"))
