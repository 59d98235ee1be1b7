"""``tapcase scenario`` as a function: summary, JSON, unknown names."""

from __future__ import annotations

import io
import json

from tapcase.scenario import names
from tapcase.scenario.cli import run


def test_json_output(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    pcap = tmp_path / "sub" / "c2.pcap"
    assert run("c2-dns", pcap, 0, True, stdout=out, stderr=err) == 0
    info = json.loads(out.getvalue())
    assert info["name"] == "c2-dns" and info["pcap"] == str(pcap) and pcap.exists()
    assert info["instance_id"] == "i-0a1b2c3d4e5f60718" and info["eni_id"] == "eni-0a1b2c3d4e5f60718"
    assert info["expected"]["c2_domain"] == "c2.guarddutyc2activityb.com"
    assert info["start_time"] == "2024-06-03T14:00:00Z"
    assert info["packets"] > 0 and info["file_bytes"] == pcap.stat().st_size
    assert info["form"] == "plain" and 0 < info["mirrored_packets"] < info["suspect_packets"] < info["packets"]
    assert info["sample_finding"] == "samples/findings/c2-dns.json"
    assert err.getvalue() == ""


def test_summary_output(tmp_path):
    out = io.StringIO()
    assert run("ssh-bruteforce", tmp_path / "ssh.pcap", 3, False, stdout=out, stderr=io.StringIO()) == 0
    text = out.getvalue()
    assert "ssh-bruteforce (seed 3, plain)" in text
    assert "neighbours 10.0.1.40, 10.0.1.41" in text and "amazon-dns delivers" in text
    assert "203.0.113.77" in text and str(tmp_path / "ssh.pcap") in text
    out = io.StringIO()
    assert run("ssh-bruteforce", tmp_path / "v.pcap", 3, False, form="vxlan", stdout=out, stderr=io.StringIO()) == 0
    assert "(seed 3, vxlan)" in out.getvalue() and "VXLAN UDP 4789, VNI" in out.getvalue()


def test_the_command_line_writes_plain_or_vxlan(tmp_path):
    from typer.testing import CliRunner

    from tapcase.cli import app

    for flags, form in (([], "plain"), (["--vxlan"], "vxlan")):
        pcap = tmp_path / f"{form}.pcap"
        result = CliRunner().invoke(app, ["scenario", "beaconing", "--out", str(pcap), "--json", *flags])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["form"] == form and pcap.exists()


def test_unknown_name_lists_the_names(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert run("nope", tmp_path / "x.pcap", 0, False, stdout=out, stderr=err) == 2
    assert out.getvalue() == ""
    assert "unknown scenario 'nope'" in err.getvalue()
    for name in names():
        assert name in err.getvalue()
    assert not (tmp_path / "x.pcap").exists()
