"""Sample GuardDuty findings (EventBridge events) matching the stories.

The events follow the documented EventBridge envelope (``detail`` is one finding, camelCase as in
the GuardDuty API model's ``locationName``s). Their instance, ENI, addresses, peers and ports are
taken from the story's plan for seed 0, so the sample in ``samples/findings/<story>.json`` describes
exactly the traffic ``tapcase scenario <story>`` writes. Regenerate the samples with::

    python -m tapcase.scenario.findings samples/findings
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from tapcase.scenario.generator import plan
from tapcase.scenario.model import (
    ACCOUNT_ID,
    AVAILABILITY_ZONE,
    DETECTOR_ID,
    EPOCH,
    IMAGE_ID,
    INSTANCE_TYPE,
    LAUNCH_TIME,
    REGION,
    SECURITY_GROUP_ID,
    SECURITY_GROUP_NAME,
    SUBNET_ID,
    VPC_ID,
    Expected,
    iso,
)
from tapcase.scenario.stories import Story
from tapcase_contract import tags

# The finding precedes the capture: GuardDuty saw the activity, the workflow then mirrored it.
FIRST_SEEN = EPOCH - 47 * 60
LAST_SEEN = EPOCH - 4 * 60
CREATED = EPOCH - 45 * 60
UPDATED = EPOCH - 3 * 60

# Documentation ASNs (RFC 5398) for the remote parties.
REMOTE_ORGS = {
    "198.51.100.23": ("64501", "Example Hosting Ltd", "NL", "Netherlands", "Amsterdam", 52.3740, 4.8897),
    "198.51.100.140": ("64502", "Example Cloud Storage LLC", "US", "United States", "Ashburn", 39.0438, -77.4874),
    "203.0.113.77": ("64503", "Example Broadband Co.", "BR", "Brazil", "Sao Paulo", -23.5475, -46.6361),
}
PORT_NAMES = {22: "SSH", 53: "DNS", 80: "HTTP", 443: "HTTPS"}
COUNTS = {"c2-dns": 14, "beaconing": 9, "ssh-bruteforce": 31, "exfiltration": 1}


def finding_id(name: str) -> str:
    """32 hex characters, like GuardDuty's finding ids, stable per story."""
    return hashlib.sha256(f"tapcase-finding:{name}".encode()).hexdigest()[:32]


def _remote_ip_details(ip: str) -> dict[str, Any]:
    asn, org, code, country, city, lat, lon = REMOTE_ORGS[ip]
    return {
        "ipAddressV4": ip,
        "organization": {"asn": asn, "asnOrg": org, "isp": org, "org": org},
        "country": {"countryCode": code, "countryName": country},
        "city": {"cityName": city},
        "geoLocation": {"lat": lat, "lon": lon},
    }


def _port(port: int) -> dict[str, Any]:
    return {"port": port, "portName": PORT_NAMES.get(port, "Unknown")}


def _network_connection(direction: str, suspect_ip: str, remote_ip: str, local_port: int, remote_port: int) -> dict[str, Any]:
    return {
        "actionType": "NETWORK_CONNECTION",
        "networkConnectionAction": {
            "connectionDirection": direction,
            "remoteIpDetails": _remote_ip_details(remote_ip),
            "remotePortDetails": _port(remote_port),
            "localPortDetails": _port(local_port),
            "localIpDetails": {"ipAddressV4": suspect_ip},
            "protocol": "TCP",
            "blocked": False,
        },
    }


def _action_and_text(story: Story, expected: Expected) -> tuple[dict[str, Any], str, str, dict[str, Any]]:
    """(action, title, description, extra service fields) of a story's finding."""
    s = story.suspect
    if story.name == "c2-dns":
        domain = expected.c2_domain
        action = {
            "actionType": "DNS_REQUEST",
            "dnsRequestAction": {
                "domain": domain,
                "domainWithSuffix": ".".join(domain.split(".")[-2:]),  # type: ignore[union-attr]
                "protocol": "UDP",
                "blocked": False,
                "vpcOwnerAccountId": ACCOUNT_ID,
            },
        }
        title = f"Command and Control server domain name queried by EC2 instance {s.instance_id}."
        description = (
            f"EC2 instance {s.instance_id} is querying a domain name associated with a known Command & Control "
            f"server: {domain}."
        )
        extra = _threat_intel("Amazon", [])
    elif story.name == "beaconing":
        assert expected.beacon_peer_ip and expected.finding_local_port and expected.beacon_port
        action = _network_connection("OUTBOUND", s.private_ip, expected.beacon_peer_ip, expected.finding_local_port,
                                     expected.beacon_port)
        title = f"EC2 instance {s.instance_id} communicating outbound with C&C Server."
        description = (
            f"EC2 instance {s.instance_id} is communicating outbound with a known Command & Control Server "
            f"{expected.beacon_peer_ip} located in Netherlands."
        )
        extra = _threat_intel("ProofPoint", ["cobaltstrike"])
    elif story.name == "ssh-bruteforce":
        assert expected.bruteforce_source_ip and expected.finding_remote_port
        action = _network_connection("INBOUND", s.private_ip, expected.bruteforce_source_ip, 22,
                                     expected.finding_remote_port)
        title = f"{expected.bruteforce_source_ip} is performing SSH brute force attacks against {s.instance_id}."
        description = (
            f"{expected.bruteforce_source_ip} is performing SSH brute force attacks against {s.instance_id}. Brute "
            "force attacks are used to gain unauthorized access to your instance by guessing the SSH password."
        )
        extra = {}
    elif story.name == "exfiltration":
        assert expected.exfil_peer_ip and expected.finding_local_port and expected.exfil_port
        action = _network_connection("OUTBOUND", s.private_ip, expected.exfil_peer_ip, expected.finding_local_port,
                                     expected.exfil_port)
        title = f"Unusual outbound traffic volume from EC2 instance {s.instance_id}."
        description = (
            f"EC2 instance {s.instance_id} is generating unusually large amounts of network traffic to remote host "
            f"{expected.exfil_peer_ip}."
        )
        extra = {}
    else:  # pragma: no cover - every registered story is handled above
        raise ValueError(f"no finding template for story {story.name!r}")
    return action, title, description, extra


def _threat_intel(list_name: str, threat_names: list[str]) -> dict[str, Any]:
    return {
        "additionalInfo": {"type": "default", "value": json.dumps({"threatListName": list_name})},
        "evidence": {"threatIntelligenceDetails": [{"threatListName": list_name, "threatNames": threat_names}]},
    }


def finding_event(name: str) -> dict[str, Any]:
    """The EventBridge event of the story's finding (addresses and ports from its seed-0 plan)."""
    story, _ctx, expected = plan(name, seed=0)
    s = story.suspect
    fid = finding_id(name)
    action, title, description, extra = _action_and_text(story, expected)
    service: dict[str, Any] = {
        "serviceName": "guardduty",
        "detectorId": DETECTOR_ID,
        "action": action,
        "resourceRole": story.resource_role,
        "additionalInfo": {"type": "default", "value": "{}"},
        "eventFirstSeen": iso(FIRST_SEEN),
        "eventLastSeen": iso(LAST_SEEN),
        "archived": False,
        "count": COUNTS[name],
    }
    service.update(extra)
    finding = {
        "schemaVersion": "2.0",
        "accountId": ACCOUNT_ID,
        "region": REGION,
        "partition": "aws",
        "id": fid,
        "arn": f"arn:aws:guardduty:{REGION}:{ACCOUNT_ID}:detector/{DETECTOR_ID}/finding/{fid}",
        "type": story.finding_type,
        "resource": {
            "resourceType": "Instance",
            "instanceDetails": {
                "instanceId": s.instance_id,
                "instanceType": INSTANCE_TYPE,
                "outpostArn": None,
                "launchTime": LAUNCH_TIME,
                "platform": None,
                "productCodes": [],
                "iamInstanceProfile": {
                    "arn": f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/web-app-role",
                    "id": "AIPAEXAMPLEWEBAPPROLE",
                },
                "networkInterfaces": [
                    {
                        "ipv6Addresses": [],
                        "networkInterfaceId": s.eni_id,
                        "privateDnsName": s.private_dns_name,
                        "privateIpAddress": s.private_ip,
                        "privateIpAddresses": [
                            {"privateDnsName": s.private_dns_name, "privateIpAddress": s.private_ip}
                        ],
                        "publicDnsName": s.public_dns_name,
                        "publicIp": s.public_ip,
                        "securityGroups": [{"groupId": SECURITY_GROUP_ID, "groupName": SECURITY_GROUP_NAME}],
                        "subnetId": SUBNET_ID,
                        "vpcId": VPC_ID,
                    }
                ],
                "tags": [{"key": "Name", "value": s.name_tag}, {"key": tags.SCENARIO, "value": name}],
                "instanceState": "running",
                "availabilityZone": AVAILABILITY_ZONE,
                "imageId": IMAGE_ID,
                "imageDescription": "Canonical, Ubuntu, 22.04 LTS, amd64 jammy image",
            },
        },
        "service": service,
        "severity": story.severity,
        "createdAt": iso(CREATED),
        "updatedAt": iso(UPDATED),
        "title": title,
        "description": description,
    }
    return {
        "version": "0",
        "id": str(uuid.UUID(hashlib.sha256(f"tapcase-event:{name}".encode()).hexdigest()[:32])),
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": ACCOUNT_ID,
        "time": iso(UPDATED)[:19] + "Z",
        "region": REGION,
        "resources": [],
        "detail": finding,
    }


def render(name: str) -> str:
    """The sample file's text."""
    return json.dumps(finding_event(name), indent=2) + "\n"


def write_samples(directory: Path) -> list[Path]:
    from tapcase.scenario.generator import names

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names():
        path = directory / f"{name}.json"
        path.write_text(render(name))
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for written_path in write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "samples/findings")):
        print(written_path)
