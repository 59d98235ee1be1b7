"""Shared SQL fragments are inlined when the pack loads: the rendered SQL is complete."""

from __future__ import annotations

import pytest

from tapcase_workflow.querypack import FRAGMENT_RE, QueryPackError, load_pack, load_query


def test_no_fragment_reference_survives_loading():
    pack = load_pack()
    assert pack
    for query in pack:
        assert not FRAGMENT_RE.search(query.template), query.name
    users = [q.name for q in pack if "zeek_dns d" in q.template and "suricata_eve e" in q.template]
    assert {"rare_domains", "nxdomain_bursts", "dns_tunneling", "dns_label_entropy"} <= set(users)


def test_unknown_fragment_is_refused(tmp_path):
    path = tmp_path / "bad.sql"
    path.write_text("-- name: bad\n-- title: t\n-- description: d\n-- tables: zeek_dns\nWITH x AS ({{> nope}}) SELECT 1\n")
    with pytest.raises(QueryPackError, match="no fragment 'nope'"):
        load_query(path)
