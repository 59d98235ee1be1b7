"""`tapcase local serve --pcap` + `tapcase local investigate --endpoint`: two processes, as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, shared
from tests.e2e.conftest import adapted_real_finding

TAPCASE = Path(sys.executable).parent / "tapcase"


def test_investigate_against_a_served_cloud(tmp_path):
    pcap = shared("suricata-verify", "vxlan-decoder-03", "vxlan.pcap")
    serve = subprocess.Popen(
        [str(TAPCASE), "local", "serve", "--port", "0", "--time-scale", "0.005", "--pcap", str(pcap)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = serve.stdout.readline()
        assert line.startswith("endpoint: "), line
        endpoint = line.split()[-1]
        finding = tmp_path / "finding.json"
        finding.write_text(json.dumps(adapted_real_finding()))
        started = time.monotonic()
        result = subprocess.run(
            [str(TAPCASE), "local", "investigate", "--finding", str(finding), "--endpoint", endpoint,
             "--json", "--out", str(tmp_path / "out")],
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        summary = json.loads(result.stdout)  # stdout is exactly one JSON object
        assert summary["status"] == "SUCCEEDED"
        assert summary["investigation_id"] == "gd-c0b069a09b9f39764cf3d9e44251e079"
        assert summary["leftovers"] == {k: 0 for k in summary["leftovers"]} and summary["leftovers"]
        report = json.loads(Path(summary["report"]["local_path"]).read_text())
        # the served sensor saw the capture given to `serve --pcap`
        assert report["context"]["packets"]["vxlan"] == 100
        assert summary["report"]["s3_uri"].startswith("s3://tapcase-evidencebucket/investigations/")
        assert time.monotonic() - started < 300
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=30)


def test_investigate_refuses_a_bad_finding_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = subprocess.run([str(TAPCASE), "local", "investigate", "--finding", str(bad)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "JSON object" in result.stderr
