"""The report's highlights on real engine output: evidence first, noise never.

Acceptance (issue 12): the demo's highlights lead with the C2 domain, its DNS answer and the alert;
the real AWS capture highlights the inbound SSH sessions; the brimdata DNS logs highlight nothing
on cloudfront/google; no story highlights the SSM endpoint."""

from __future__ import annotations

import pytest

from tapcase.scenario import names
from tapcase.scenario.model import BENIGN_SITES
from tapcase.scenario.stories import ATTACKER_IP, BEACON_IP, C2_DOMAIN, C2_IP, EXFIL_IP


def texts(report) -> list[str]:
    return [h["text"] for h in report["highlights"] if h["evidence"]]


def test_c2_dns_report_leads_with_the_c2_domain_its_answer_and_the_alert(stories):
    report = stories["c2-dns"].report
    lead = texts(report)[:3]
    first = lead[0]
    assert report["highlights"][0]["evidence_kind"] == "engine alert"
    assert "Suricata alert" in first and "TAPCASE C2 DNS lookup" in first
    assert C2_DOMAIN in first and C2_IP in first  # the domain and what it resolved to, in the alert itself
    assert any(t.startswith(f"The finding's domain {C2_DOMAIN}:") and f"answered {C2_IP}" in t for t in lead)
    # counts say what they count: lookups of the domain, of names under it, alerts apart
    finding = next(t for t in texts(report) if t.startswith("The finding's domain"))
    assert f"{stories['c2-dns'].info.expected.c2_query_count} lookups of {C2_DOMAIN}" in finding
    assert report["verdict"]["outcome"] == "succeeded" and report["verdict"]["assessment"] == "engine_alerts"
    values = {(i["type"], i["value"]) for i in report["indicators"]}
    assert {("domain", C2_DOMAIN), ("ipv4", C2_IP)} <= values


def test_engine_alerts_come_before_the_finding_and_heuristics_in_every_story(stories):
    for name in names():
        tiers = [h["tier"] for h in stories[name].report["highlights"]]
        assert tiers == sorted(tiers), name
        assert tiers and tiers[0] == 1, f"{name}: tapcase.rules fires on every story: {texts(stories[name].report)}"
        assert stories[name].report["summary"]["rules_loaded"] >= 7


def test_no_story_highlights_the_ssm_endpoint_or_other_aws_endpoints(stories):
    aws = [site for site in BENIGN_SITES if site.name.endswith(".amazonaws.com")]
    assert any(s.name.startswith("ssm.") for s in aws)
    for name in names():
        report = stories[name].report
        for text in texts(report):
            for site in aws:
                assert site.name not in text and site.ip not in text, (name, text)
        for item in report["indicators"]:
            assert item["value"] not in {s.name for s in aws} | {s.ip for s in aws}, (name, item)
        # the SSM agent's polling is never scored as a beacon (the query leaves AWS endpoints out)
        beacons = stories[name].results["beaconing"]
        dst = beacons["columns"].index("dst")
        assert not {row[dst] for row in beacons["rows"]} & {s.ip for s in aws}, name


def test_beacon_story_names_the_beacon_and_its_user_agent(stories):
    built = stories["beaconing"]
    beacon = next(t for t in texts(built.report) if "beaconing" in t)
    assert f"\u2192 {BEACON_IP} (telemetry.cdn-sync.example) port 80" in beacon and "every 60 s" in beacon
    agents = [i for i in built.report["indicators"] if i["type"] == "user_agent"]
    assert [a["value"] for a in agents] == [built.info.expected.beacon_user_agent]
    assert "10 requests" in agents[0]["seen"][0]


def test_ssh_bruteforce_story_counts_connections_and_keeps_the_attackers_fingerprint(stories):
    built = stories["ssh-bruteforce"]
    sessions = built.info.expected.bruteforce_sessions
    inbound = next(t for t in texts(built.report) if "inbound SSH" in t)
    assert inbound.startswith(f"{sessions} inbound SSH connections from outside the VPC: {ATTACKER_IP} ({sessions})")
    assert "libssh2" in inbound
    kinds = {i["type"] for i in built.report["indicators"]}
    assert {"ipv4", "hassh"} <= kinds and all(i["value"] != "10.0.0.10" for i in built.report["indicators"])


def test_exfiltration_story_names_the_upload_and_not_the_aws_endpoints_on_its_port(stories):
    built = stories["exfiltration"]
    upload = next(t for t in texts(built.report) if t.startswith("Large upload"))
    assert f"to {EXFIL_IP} (upload.files-relay.example)" in upload
    port = next(t for t in texts(built.report) if t.startswith("Traffic on the finding's port"))
    assert "1 connection between 1 host pair" in port and "AWS endpoints or popular sites not counted" in port


def test_real_aws_capture_highlights_the_inbound_ssh_sessions(real_aws):
    report = real_aws.report
    (inbound,) = [t for t in texts(report) if "inbound SSH" in t]
    assert inbound.startswith("4 inbound SSH connections from outside the VPC: 18.196.145.224 (4) \u2192 172.31.0.238:22")
    assert report["verdict"]["assessment"] == "suspicious_behaviour"
    assert ("ipv4", "18.196.145.224") in {(i["type"], i["value"]) for i in report["indicators"]}
    # the reverse lookup of the attacker (PTR, EC2 public name) is not a highlight
    assert not any("amazonaws.com" in t for t in texts(report))


def test_brimdata_dns_logs_highlight_nothing_on_popular_domains(brim_dns):
    report = brim_dns.report
    assert texts(report), "the WRCCDC logs have real evidence (invalid certificates, admin shares, PE files)"
    for text in texts(report):
        for noise in ("cloudfront", "google", "footprintdns", "amazonaws", "akamai", "fastly"):
            assert noise not in text.lower(), text
    sweeps = [t for t in texts(report) if t.startswith("Reverse-lookup sweep")]
    assert sweeps and "PTR lookups" in sweeps[0]
    assert not any(t.startswith("DGA") for t in texts(report))
    assert all(not i["value"].endswith(("cloudfront.net", "google.com")) for i in report["indicators"])


@pytest.mark.parametrize("query", ["windows_remote_admin", "pe_files", "mail_and_software", "ssh_sessions"])
def test_logs_the_pack_used_to_ignore_carry_evidence_on_real_zeek_logs(brim_dns, query):
    assert brim_dns.results[query]["rows"], f"{query} returned nothing on the WRCCDC logs"
