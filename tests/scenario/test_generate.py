"""The generator writes deterministic captures: plain (the suspect's subnet as captured, by
default) and VXLAN (encapsulated exactly as AWS traffic mirroring delivers it, the ``generated``
fixture)."""

from __future__ import annotations

import hashlib
import struct
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from scapy.layers.dns import DNS
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from scapy.utils import PcapReader, checksum

from tapcase.scenario import SCENARIOS, ScenarioInfo, UnknownScenario, generate, names, plan
from tapcase.scenario.model import EPOCH, SENSOR_IP
from tapcase.scenario.stories import C2_DOMAIN, C2_IP, DGA_HIT_IP
from tests.conftest import shared
from tests.scenario.conftest import Mirrored, mirrored

ALL = names()
SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_registry_has_the_four_stories():
    assert ALL == ["c2-dns", "beaconing", "ssh-bruteforce", "exfiltration"]
    assert set(SCENARIOS) == set(ALL)
    instance_ids = {s.suspect.instance_id for s in SCENARIOS.values()}
    assert len(instance_ids) == 4  # one suspect per story: their investigations can run side by side


@pytest.mark.parametrize("name", ALL)
def test_same_seed_gives_identical_bytes(name, generated, tmp_path):
    first = generated[name]
    again = generate(name, tmp_path / "again.pcap", seed=0, form="vxlan")
    assert sha256(first.pcap) == first.sha256
    assert again.sha256 == first.sha256
    a, b = first.to_dict(), again.to_dict()
    a.pop("pcap"), b.pop("pcap")
    assert a == b


def test_seed_changes_the_capture_but_not_the_identities(tmp_path):
    one = generate("beaconing", tmp_path / "s1.pcap", seed=1, duration_seconds=180)
    two = generate("beaconing", tmp_path / "s2.pcap", seed=2, duration_seconds=180)
    assert one.sha256 != two.sha256
    assert (one.instance_id, one.suspect_ip, one.expected.beacon_peer_ip) == (
        two.instance_id, two.suspect_ip, two.expected.beacon_peer_ip
    )
    assert one.vni != two.vni  # the default VNI follows the seed


def test_arguments_are_validated(tmp_path):
    with pytest.raises(UnknownScenario) as err:
        generate("no-such-story", tmp_path / "x.pcap")
    for name in ALL:
        assert name in str(err.value)
    with pytest.raises(ValueError, match="duration_seconds"):
        generate("c2-dns", tmp_path / "x.pcap", duration_seconds=10)
    with pytest.raises(ValueError, match="VNI"):
        generate("c2-dns", tmp_path / "x.pcap", vni=1 << 24)
    with pytest.raises(ValueError, match="form"):
        generate("c2-dns", tmp_path / "x.pcap", form="gre")
    assert not (tmp_path / "x.pcap").exists()


def test_explicit_vni_and_duration(tmp_path):
    info = generate("ssh-bruteforce", tmp_path / "v.pcap", seed=5, vni=5569041, duration_seconds=150, form="vxlan")
    assert info.vni == 5569041
    assert info.end_time.timestamp() - info.start_time.timestamp() == 150
    vnis = {m.vni for m in mirrored(info.pcap)}
    assert vnis == {5569041}
    assert info.last_packet_time.timestamp() <= EPOCH + 150


def check_aws_encapsulation(m: Mirrored, source_ip: str, sensor_ip: str, vni: int) -> None:
    """What the real AWS capture shows about every mirrored packet."""
    assert m.frame[12:14] == b"\x08\x00"
    assert (m.outer_src, m.outer_dst) == (source_ip, sensor_ip)
    assert m.outer_ttl == 255 and m.outer_id == 0 and m.outer_flags_frag == 0
    assert checksum(m.outer_ip_header) == 0
    assert m.dport == 4789 and 65408 <= m.sport <= 65535
    assert m.udp_checksum == 0
    assert m.udp_len == len(m.frame) - 14 - 20
    assert m.vxlan_flags == 0x08 and m.vni == vni
    assert m.inner_ethertype == 0x0800
    assert source_ip in (m.src, m.dst)  # mirrored at the source ENI: ingress and egress


def test_the_checks_hold_on_the_real_aws_capture():
    """The encapsulation checks used below are true of a real AWS traffic-mirroring capture."""
    real = list(mirrored(shared("suricata-verify", "vxlan-decoder-03", "vxlan.pcap")))
    assert len(real) == 100
    for m in real:
        check_aws_encapsulation(m, "172.31.0.238", "172.31.17.188", 5569041)


@pytest.mark.parametrize("name", ALL)
def test_every_packet_is_mirrored_like_aws(name, generated):
    info: ScenarioInfo = generated[name]
    story = SCENARIOS[name]
    count = total = 0
    previous = EPOCH * 1_000_000
    sport_of_flow: dict[tuple, int] = {}
    directions = Counter()
    for m in mirrored(info.pcap):
        check_aws_encapsulation(m, info.suspect_ip, SENSOR_IP, info.vni)
        # Inner frame between the ENI's MAC and the VPC router; egress leaves the ENI's MAC.
        suspect_mac = bytes.fromhex(story.suspect.mac.replace(":", ""))
        egress = m.src == info.suspect_ip
        assert (m.inner_src_mac if egress else m.inner_dst_mac) == suspect_mac
        directions["egress" if egress else "ingress"] += 1
        if egress:
            assert m.ttl == 255  # as the real capture shows for the source's own packets
        # One outer source port per inner flow, both directions.
        key = (m.proto, *sorted([(m.src, m.src_port), (m.dst, m.dst_port)]))
        assert sport_of_flow.setdefault(key, m.sport) == m.sport
        # Valid inner checksums (IPv4 header and TCP/UDP with the pseudo header).
        assert checksum(m.inner_ip[:20]) == 0
        pseudo = m.inner_ip[12:20] + struct.pack("!BBH", 0, m.proto, len(m.l4))
        assert checksum(pseudo + m.l4) == 0
        # Timestamps: fixed epoch, non-decreasing, inside the window.
        assert previous <= m.ts_us <= EPOCH * 1_000_000 + info.duration_seconds * 1_000_000
        previous = m.ts_us
        count += 1
        total += len(m.frame)
    assert (count, total) == (info.packets, info.bytes)
    assert directions["egress"] > 0 and directions["ingress"] > 0
    assert info.start_time.timestamp() == EPOCH
    assert info.first_packet_time.timestamp() >= EPOCH
    assert Path(info.pcap).stat().st_size == info.file_bytes
    assert info.file_bytes <= 30_000_000


@pytest.mark.parametrize("name", ALL)
def test_scapy_reads_vxlan_on_4789(name, generated):
    info = generated[name]
    with PcapReader(info.pcap) as reader:
        for i, pkt in enumerate(reader):
            if i == 400:
                break
            assert pkt.haslayer(VXLAN), pkt.summary()
            assert pkt[UDP].dport == 4789
            assert pkt[VXLAN].vni == info.vni and int(pkt[VXLAN].flags) == 0x08
            inner = pkt[VXLAN].payload
            assert isinstance(inner, Ether) and inner.haslayer(IP)
            assert inner.haslayer(TCP) or inner.haslayer(UDP)
            # scapy recomputes the same checksums
            ip = inner[IP]
            rebuilt = IP(bytes(ip))
            del rebuilt.chksum
            l4 = rebuilt.payload
            del l4.chksum
            rebuilt = IP(bytes(rebuilt))
            assert rebuilt.chksum == ip.chksum and rebuilt.payload.chksum == ip.payload.chksum


@pytest.mark.parametrize("name", ALL)
def test_tcp_sessions_open_and_close(name, generated):
    flows: dict[tuple, list[int]] = defaultdict(list)
    for m in mirrored(generated[name].pcap):
        if m.proto == 6:
            key = tuple(sorted([(m.src, m.src_port), (m.dst, m.dst_port)]))
            flows[key].append(m.tcp_flags)
    assert flows
    endings = Counter()
    for key, flags in flows.items():
        # three-way handshake
        assert flags[0] == SYN and flags[1] == SYN | ACK and flags[2] == ACK, key
        if flags[-1] & RST:
            endings["rst"] += 1
        else:
            assert sum(1 for f in flags if f & FIN) == 2 and flags[-1] == ACK, key
            endings["fin"] += 1
    assert endings["fin"] > 0 and endings["rst"] > 0


def test_c2_dns_wire_format(generated):
    info = generated["c2-dns"]
    queries, responses = {}, {}
    with PcapReader(info.pcap) as reader:
        for pkt in reader:
            inner = pkt[VXLAN].payload
            if not inner.haslayer(DNS):
                continue
            dns = inner[DNS]
            client_port = inner[UDP].sport if dns.qr == 0 else inner[UDP].dport
            (responses if dns.qr else queries)[(client_port, dns.id)] = dns
    assert set(queries) == set(responses)
    rcodes = Counter()
    c2_answers = set()
    txt = nx = 0
    for key, resp in responses.items():
        q = queries[key]
        assert resp.qd[0].qname == q.qd[0].qname and resp.qd[0].qtype == q.qd[0].qtype
        assert resp.rd == 1 and resp.ra == 1
        rcodes[resp.rcode] += 1
        name = resp.qd[0].qname.decode().rstrip(".")
        if name == C2_DOMAIN:
            c2_answers |= {rr.rdata for rr in resp.an}
        if resp.qd[0].qtype == 16:
            txt += 1
            assert name.endswith("." + C2_DOMAIN)
            assert resp.an[0].type == 16 and resp.an[0].rdata
        if resp.rcode == 3:
            nx += 1
            assert resp.ancount == 0 and resp.ns[0].type == 6  # SOA for negative caching
    assert c2_answers == {C2_IP}
    assert txt == info.expected.txt_query_count
    assert nx == info.expected.nxdomain_count
    assert info.expected.dga_resolved_domain and info.expected.suspicious_ips == [C2_IP, DGA_HIT_IP]


def test_beacon_timing_and_fixed_size_requests(generated):
    info = generated["beaconing"]
    e = info.expected
    syn_times, requests = [], []
    for m in mirrored(info.pcap):
        if m.proto == 6 and m.dst == e.beacon_peer_ip:
            if m.tcp_flags == SYN:
                syn_times.append(m.ts_us / 1e6)
            payload = m.tcp_payload
            if payload.startswith(b"GET "):
                requests.append(payload)
    assert len(syn_times) == e.beacon_count >= 9
    gaps = [b - a for a, b in zip(syn_times, syn_times[1:], strict=False)]
    assert all(abs(g - 60) <= 2 * e.beacon_jitter_seconds for g in gaps)
    assert abs(sum(gaps) / len(gaps) - 60) < 1
    assert len(set(requests)) == 1 and len(requests[0]) == e.beacon_request_bytes
    assert f"Host: {e.beacon_host}\r\n".encode() in requests[0]
    assert f"User-Agent: {e.beacon_user_agent}\r\n".encode() in requests[0]


def test_ssh_banners_exchanged(generated):
    info = generated["ssh-bruteforce"]
    e = info.expected
    client_banners, server_banners, syns = Counter(), Counter(), 0
    for m in mirrored(info.pcap):
        if m.proto != 6:
            continue
        if m.src == e.bruteforce_source_ip and m.tcp_flags == SYN:
            syns += 1
            assert m.dst_port == 22
        if m.tcp_payload.startswith(b"SSH-"):
            (client_banners if m.dst_port == 22 else server_banners)[m.tcp_payload] += 1
    assert syns == e.bruteforce_sessions >= 50
    assert client_banners[f"{e.bruteforce_client_banner}\r\n".encode()] == e.bruteforce_sessions
    assert server_banners[f"{e.ssh_server_banner}\r\n".encode()] == e.bruteforce_sessions + 1  # + the admin


def test_exfiltration_upload_size(generated):
    info = generated["exfiltration"]
    e = info.expected
    up = down = 0
    for m in mirrored(info.pcap):
        if m.proto == 6 and m.dst == e.exfil_peer_ip:
            up += len(m.tcp_payload)
        elif m.proto == 6 and m.src == e.exfil_peer_ip:
            down += len(m.tcp_payload)
    assert up == e.exfil_tcp_payload_bytes
    assert e.exfil_bytes <= up <= e.exfil_bytes * 1.01
    assert down < 20_000
    assert e.exfil_bytes >= 10 * 1024 * 1024


def test_plan_is_cheap_and_matches_generation(generated):
    _story, ctx, expected = plan("beaconing", seed=0)
    assert expected.finding_local_port == generated["beaconing"].expected.finding_local_port
    assert ctx.net.vni == generated["beaconing"].vni


# --- the plain form: the suspect's subnet as captured ----------------------------------------
TIME_SYNC, IMDS = "169.254.169.123", "169.254.169.254"


def never_mirrored(pkt) -> bool:
    """What Traffic Mirroring never copies (limitations page), decided with scapy."""
    from scapy.layers.l2 import ARP

    if pkt.haslayer(ARP):
        return True
    if {pkt[IP].src, pkt[IP].dst} & {TIME_SYNC, IMDS}:
        return True
    return pkt.haslayer(UDP) and {pkt[UDP].sport, pkt[UDP].dport} == {67, 68}


@pytest.mark.parametrize("name", ALL)
def test_plain_form_carries_the_same_suspect_traffic_as_the_vxlan_form(name, plain, generated):
    """The VXLAN form is exactly the plain form's mirrorable packets of the suspect's ENI, encapsulated."""
    info, vxlan = plain[name], generated[name]
    assert (info.form, vxlan.form) == ("plain", "vxlan")
    expected = [(m.ts_us, m.frame[14 + 20 + 8 + 8:]) for m in mirrored(vxlan.pcap)]
    on_eni = []
    with PcapReader(info.pcap) as reader:
        for pkt in reader:
            if pkt.haslayer(IP) and info.suspect_ip in (pkt[IP].src, pkt[IP].dst) and not never_mirrored(pkt):
                on_eni.append((int(round(float(pkt.time) * 1e6)), bytes(pkt)))
    assert on_eni == expected
    assert info.mirrored_packets == vxlan.packets == len(expected)
    assert info.mirrored_bytes == vxlan.bytes
    assert info.expected == vxlan.expected and info.vni == vxlan.vni


@pytest.mark.parametrize("name", ALL)
def test_plain_form_counts_what_it_holds(name, plain):
    from scapy.layers.l2 import ARP

    info = plain[name]
    kinds = Counter()
    resolver = 0
    with PcapReader(info.pcap) as reader:
        for pkt in reader:
            assert isinstance(pkt, Ether)  # plain Ethernet as on the wire, no VXLAN
            assert not pkt.haslayer(VXLAN)
            ips = {pkt[IP].src, pkt[IP].dst} if pkt.haslayer(IP) else {pkt[ARP].psrc, pkt[ARP].pdst}
            if info.suspect_ip in ips:
                kinds["mirrorable" if pkt.haslayer(IP) and not never_mirrored(pkt) else "never"] += 1
                resolver += pkt.haslayer(IP) and "10.0.0.2" in ips and not never_mirrored(pkt)
            else:
                assert ips & set(info.neighbour_ips), pkt.summary()
                kinds["neighbour"] += 1
    assert kinds == {"mirrorable": info.mirrored_packets, "never": info.not_mirrorable_packets,
                     "neighbour": info.neighbour_packets}
    assert info.suspect_packets == info.mirrored_packets + info.not_mirrorable_packets
    assert info.packets == info.suspect_packets + info.neighbour_packets
    assert resolver == info.resolver_packets > 0


def test_neighbours_talk_to_the_story_peers_and_the_resolver(plain):
    c2, ssh = plain["c2-dns"], plain["ssh-bruteforce"]
    neighbours = set(c2.neighbour_ips)
    asked = set()
    with PcapReader(c2.pcap) as reader:
        for pkt in reader:
            if pkt.haslayer(DNS) and pkt[IP].src in neighbours and pkt[IP].dst == "10.0.0.2":
                asked.add(pkt[DNS].qd[0].qname.decode().rstrip("."))
            if pkt.haslayer(TCP) and pkt[IP].src in neighbours and pkt[TCP].flags == SYN:
                asked.add(pkt[IP].dst)
    assert {C2_DOMAIN, C2_IP} <= asked and len(asked) > 5  # the C2, and ordinary sites
    attacker = ssh.expected.bruteforce_source_ip
    with PcapReader(ssh.pcap) as reader:
        probed = {pkt[IP].dst for pkt in reader
                  if pkt.haslayer(TCP) and pkt[IP].src == attacker and pkt[TCP].dport == 22 and pkt[TCP].flags == SYN}
    assert probed == {ssh.suspect_ip} | set(ssh.neighbour_ips)


def test_host_services_aws_never_mirrors(plain):
    """ARP for the VPC router, a DHCP renewal, IMDSv2 calls and Time Sync NTP, on the suspect's ENI."""
    from scapy.layers.dhcp import DHCP
    from scapy.layers.l2 import ARP
    from scapy.layers.ntp import NTP

    info = plain["beaconing"]
    seen = Counter()
    with PcapReader(info.pcap) as reader:
        for pkt in reader:
            if pkt.haslayer(ARP) and info.suspect_ip in (pkt[ARP].psrc, pkt[ARP].pdst):
                assert "10.0.1.1" in (pkt[ARP].psrc, pkt[ARP].pdst)
                seen[f"arp-{pkt[ARP].op}"] += 1
            elif pkt.haslayer(DHCP):
                options = dict(o for o in pkt[DHCP].options if isinstance(o, tuple))
                seen[f"dhcp-{options['message-type']}"] += 1
            elif pkt.haslayer(NTP) and TIME_SYNC in (pkt[IP].src, pkt[IP].dst):
                seen[f"ntp-{pkt[NTP].mode}"] += 1
            elif pkt.haslayer(TCP) and pkt[IP].dst == IMDS and bytes(pkt[TCP].payload)[:4] in (b"PUT ", b"GET "):
                seen[bytes(pkt[TCP].payload).split(b" ")[1].decode()] += 1
    assert seen["arp-1"] == seen["arp-2"] >= 7  # who-has, is-at (every ~75 s)
    assert (seen["dhcp-3"], seen["dhcp-5"]) == (1, 1)  # DHCPREQUEST, DHCPACK
    assert seen["ntp-3"] == seen["ntp-4"] >= 9  # every 64 s
    assert seen["/latest/api/token"] == seen["/latest/meta-data/iam/security-credentials/web-app-role"] >= 2
    assert sum(seen.values()) == info.not_mirrorable_packets - imds_tcp_overhead(info)


def imds_tcp_overhead(info) -> int:
    """Packets of the IMDS connections other than the two requests (handshakes, responses, ACKs)."""
    with PcapReader(info.pcap) as reader:
        imds = [pkt for pkt in reader if pkt.haslayer(TCP) and IMDS in (pkt[IP].src, pkt[IP].dst)]
    requests = [p for p in imds if bytes(p[TCP].payload)[:4] in (b"PUT ", b"GET ")]
    return len(imds) - len(requests)
