"""``tapcase analyze``: logs in, curated data + results + report out; clear errors otherwise."""

from __future__ import annotations

import gzip
import json
import shutil

from typer.testing import CliRunner

from tapcase.analyze import default_investigation_id, run
from tapcase.cli import app
from tests.conftest import shared
from tests.lake.synth import PLANTED as P


def test_analyze_writes_results_and_report(planted_logs, tmp_path, capsys):
    out = tmp_path / "out"
    # Given the planted logs (gzip one of them: analyze reads gz too)
    logs = tmp_path / "logs"
    shutil.copytree(planted_logs, logs)
    dns = logs / "dns.log"
    (logs / "dns.log.gz").write_bytes(gzip.compress(dns.read_bytes()))
    dns.unlink()
    # When
    code = run(logs=logs, investigation_id="case-42", out=out, as_json=False)
    # Then
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"queries"}
    beacon = results["queries"]["beaconing"]
    assert beacon["columns"][:3] == ["src", "dst", "score"]
    assert beacon["rows"][0][:2] == [P.suspect, P.c2]
    assert "finding_remote_ip" not in results["queries"]  # no finding values locally
    report = json.loads((out / "report.json").read_text())
    assert report["investigation_id"] == "case-42"
    assert {h["query"] for h in report["highlights"]} >= {"beaconing", "dns_label_entropy", "suricata_alert_summary"}
    assert report["skipped"]["suspect_host_peers"] == ["suspect_ips"]
    md = (out / "report.md").read_text()
    assert md.startswith("# tapcase investigation report: case-42")
    assert f"{P.suspect} -> {P.c2}" in md
    assert (out / "investigations/curated/zeek_dns/investigation_id=case-42/part-00000.parquet").is_file()
    printed = capsys.readouterr().out
    assert "beaconing" in printed and "Highlights" in printed


def test_analyze_json_output_and_cli(tmp_path):
    logs = tmp_path / "bug-28"
    logs.mkdir()
    shutil.copy(shared("suri-out", "rules_bug-28", "eve.json"), logs / "eve.json")
    result = CliRunner().invoke(app, ["analyze", "--logs", str(logs), "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    alerts = printed["queries"]["suricata_alert_summary"]
    assert sum(row[alerts["columns"].index("alerts")] for row in alerts["rows"]) == 4
    assert printed == json.loads((tmp_path / "o" / "results.json").read_text())


def test_bad_input_is_refused(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(logs=empty, investigation_id=None, out=tmp_path / "o1", as_json=False) == 2
    assert "holds no files" in capsys.readouterr().err

    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "readme.txt").write_text("not a log\n")
    assert run(logs=junk, investigation_id=None, out=tmp_path / "o2", as_json=True) == 2
    assert "no Zeek or Suricata logs found" in capsys.readouterr().err

    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(shared("suri-out", "rules_bug-28", "eve.json"), logs / "eve.json")
    assert run(logs=logs, investigation_id="Bad ID!", out=tmp_path / "o3", as_json=False) == 2
    assert "invalid investigation id" in capsys.readouterr().err
    assert not (tmp_path / "o3").exists()

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "eve.json").write_text('{"timestamp": "2024-01-01T00:00:00+0000", "event_type": "flow"}\n{not json\n')
    assert run(logs=broken, investigation_id="case-1", out=tmp_path / "o4", as_json=False) == 1
    assert "cannot read a log" in capsys.readouterr().err


def test_default_investigation_id(tmp_path):
    assert default_investigation_id(tmp_path / "My Logs_2024") == "my-logs-2024"
    assert default_investigation_id(tmp_path / "x") == "local-x"
    assert default_investigation_id(tmp_path / "__") == "local-analysis"


def test_a_60_character_folder_name_becomes_an_investigation_id(tmp_path, capsys):
    # issue 9: `tapcase analyze --logs <folder with a 60-character name>` exited 2 ("use 3-63
    # lower-case letters") although ids are at most 48 characters: the name now becomes a valid id
    logs = tmp_path / ("Suspect web-frontend-03 capture 2024-05-17 " + "x" * 17)
    assert len(logs.name) == 60
    logs.mkdir()
    shutil.copy(shared("suri-out", "rules_bug-28", "eve.json"), logs / "eve.json")
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["analyze", "--logs", str(logs), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    derived = default_investigation_id(logs)
    assert 3 <= len(derived) <= 48 and derived.startswith("suspect-web-frontend-03-capture-2024-05-")
    assert json.loads((out / "report.json").read_text())["investigation_id"] == derived
    assert list((out / "investigations" / "curated").glob(f"*/investigation_id={derived}"))

    # an explicit --investigation that breaks the rule is refused, saying the rule
    assert run(logs=logs, investigation_id=logs.name.lower().replace(" ", "-"), out=tmp_path / "o2", as_json=False) == 2
    err = capsys.readouterr().err
    assert "--investigation: invalid investigation id" in err and "3 to 48 characters" in err
    assert not (tmp_path / "o2").exists()
