"""MITRE ATT&CK techniques for the report (pure): those a GuardDuty finding type suggests
(tapcase's mapping, below) and those the alerts' rules carry (``mitre_technique_id`` metadata, as
ET Open and tapcase.rules write it)."""

from __future__ import annotations

from collections.abc import Iterable

#: Technique names of the ids tapcase's mapping and rules use (ATT&CK Enterprise).
TECHNIQUES = {
    "T1021": "Remote Services", "T1021.001": "Remote Services: Remote Desktop Protocol",
    "T1021.002": "Remote Services: SMB/Windows Admin Shares", "T1021.004": "Remote Services: SSH",
    "T1041": "Exfiltration Over C2 Channel", "T1046": "Network Service Discovery",
    "T1048": "Exfiltration Over Alternative Protocol", "T1071": "Application Layer Protocol",
    "T1071.001": "Application Layer Protocol: Web Protocols", "T1071.003": "Application Layer Protocol: Mail Protocols",
    "T1071.004": "Application Layer Protocol: DNS", "T1090.003": "Proxy: Multi-hop Proxy",
    "T1110": "Brute Force", "T1496": "Resource Hijacking", "T1498": "Network Denial of Service",
    "T1568.002": "Dynamic Resolution: Domain Generation Algorithms", "T1569.002": "System Services: Service Execution",
    "T1571": "Non-Standard Port", "T1572": "Protocol Tunneling", "T1595": "Active Scanning",
}  # fmt: skip

#: GuardDuty EC2 finding types (prefix of ``type``) -> techniques. tapcase's reading of each type's
#: description in the GuardDuty finding-type reference; the longest matching prefix wins.
FINDING_TECHNIQUES = {
    "Backdoor:EC2/C&CActivity.B!DNS": ("T1071.004",),
    "Backdoor:EC2/C&CActivity": ("T1071",),
    "Backdoor:EC2/DenialOfService": ("T1498",),
    "Backdoor:EC2/Spambot": ("T1071.003",),
    "Behavior:EC2/NetworkPortUnusual": ("T1571",),
    "Behavior:EC2/TrafficVolumeUnusual": ("T1048", "T1041"),
    "CryptoCurrency:EC2/": ("T1496",),
    "Impact:EC2/": ("T1496",),
    "Recon:EC2/": ("T1595", "T1046"),
    "Trojan:EC2/DGADomainRequest": ("T1568.002",),
    "Trojan:EC2/DNSDataExfiltration": ("T1048", "T1071.004"),
    "Trojan:EC2/": ("T1071",),
    "UnauthorizedAccess:EC2/SSHBruteForce": ("T1110", "T1021.004"),
    "UnauthorizedAccess:EC2/RDPBruteForce": ("T1110", "T1021.001"),
    "UnauthorizedAccess:EC2/Tor": ("T1090.003",),
    "UnauthorizedAccess:EC2/MaliciousIPCaller": ("T1071",),
}


def for_finding(finding_type: str | None) -> list[str]:
    if not finding_type:
        return []
    matches = [p for p in FINDING_TECHNIQUES if finding_type.startswith(p)]
    return list(FINDING_TECHNIQUES[max(matches, key=len)]) if matches else []


def url(technique: str) -> str:
    return "https://attack.mitre.org/techniques/" + technique.replace(".", "/") + "/"


def describe(techniques: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """``[(id, source), ...]`` -> one entry per technique with its name, link and sources."""
    merged: dict[str, list[str]] = {}
    for technique, source in techniques:
        if technique:
            merged.setdefault(technique, [])
            if source not in merged[technique]:
                merged[technique].append(source)
    return [{"id": t, "name": TECHNIQUES.get(t, ""), "url": url(t), "sources": "; ".join(s)}
            for t, s in sorted(merged.items())]
