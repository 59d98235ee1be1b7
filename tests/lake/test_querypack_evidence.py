"""The pack's evidence queries on the planted logs (tests/lake/synth.py): DNS answers, inbound remote
access, SSH banners/HASSH, TLS fingerprints, HTTP clients, activity per minute, Windows remote
admin, PE files, mail/software/RDP cookies."""

from __future__ import annotations

from tests.lake.synth import PLANTED as P


def test_inbound_remote_access_from_outside(planted):
    rows = planted.records("inbound_remote_access")
    assert [(r["src"], r["dst"], r["dst_port"], r["service"], r["connections"]) for r in rows] == [
        (P.rdp_attacker, P.suspect, 3389, "rdp", 5)]


def test_ssh_sessions_keep_banners_and_hassh(planted):
    rows = planted.records("ssh_sessions")
    assert [(r["client"], r["server"], r["client_banner"], r["hassh"], r["auth_successes"]) for r in rows] == [
        (P.long_src, P.long_dst, "SSH-2.0-OpenSSH_9.6", "ec7378c1a92f5a8dde7e8b7a1ddf33d1", 1)]


def test_windows_remote_admin(planted):
    kinds = {r["kind"]: r for r in planted.records("windows_remote_admin")}
    assert set(kinds) == {"smb_share", "smb_pipe", "ntlm", "kerberos_tgs"}
    assert all((r["src"], r["dst"]) == (P.admin_src, P.admin_dst) for r in kinds.values())
    assert kinds["ntlm"]["details"] == ["CORP\\Administrator"] and kinds["smb_pipe"]["details"] == ["svcctl"]


def test_pe_files_joined_to_their_hashes(planted):
    (row,) = planted.records("pe_files")
    assert (row["filename"], row["sha256"], row["machine"], row["signed"]) == ("update.exe", P.exe_sha256, "AMD64", False)


def test_mail_software_and_rdp_cookies(planted):
    rows = planted.records("mail_and_software")
    kinds = {r["kind"] for r in rows}
    assert {"smtp", "rdp_cookie", "software http::browser"} <= kinds
    assert any(r["kind"] == "rdp_cookie" and r["detail"] == P.rdp_cookie and r["events"] == 5 for r in rows)


def test_activity_per_minute_adds_up_to_every_connection_and_lookup(planted):
    rows = planted.records("activity_timeline")
    conns = planted.records("top_talkers")
    assert sum(r["alerts"] for r in rows) == 5
    assert sum(r["connections"] for r in rows) >= sum(r["connections"] for r in conns)
    assert [r["minute_start"] for r in rows] == sorted(r["minute_start"] for r in rows)


def test_tls_fingerprints_and_http_clients_name_the_c2_client(planted):
    tls = [r for r in planted.records("tls_fingerprints") if r["server"] == P.c2]
    assert tls and {r["ja3"] for r in tls} == {P.rare_ja3}
    http = [r for r in planted.records("http_clients") if r["server"] == P.c2]
    assert [(r["user_agent"], r["requests"]) for r in http] == [(P.rare_ua, 1)]

