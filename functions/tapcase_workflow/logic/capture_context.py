"""What the report says was captured (pure): ENIs, sessions, VNI, window, packets, engines, files,
the capture filter the sensor used and the pcap evidence files."""

from __future__ import annotations

from typing import Any

from tapcase_workflow.models.plan import InvestigationPlan


def truncation_note(packet_length: int) -> str:
    """What the session's PacketLength does to long packets, in one sentence.

    PacketLength counts the bytes after the VXLAN header (the mirrored Ethernet frame). At most 8500
    of them plus the outer IPv4, UDP and VXLAN headers (36 bytes) stay under the sensor's 9001-byte
    MTU, so the target's MTU never truncates further.
    """
    return (
        f"Mirrored frames keep at most {packet_length} bytes (the sessions' PacketLength): longer frames "
        f"reach the sensor truncated to their first {packet_length} bytes."
    )


def capture_context(
    plan: InvestigationPlan,
    *,
    sensor: dict[str, Any],
    sensor_ready: dict[str, Any],
    mirror_sessions: list[dict[str, Any]],
    mirror_filter: dict[str, Any],
    mirror_target: dict[str, Any],
    evidence: dict[str, Any],
    manifest: dict[str, Any] | None,
    execution_arn: str,
) -> dict[str, Any]:
    files = (manifest or {}).get("files") or evidence.get("files") or []
    finding = plan.request.finding
    packets = evidence.get("packets") or {}
    return {
        "trigger": plan.request.trigger,
        "reason": plan.request.reason,
        "execution_arn": execution_arn,
        "instance": {"id": plan.instance_id, "type": plan.instance_type},
        "finding": {
            "id": finding.id, "type": finding.type, "severity": finding.severity, "title": finding.title,
            "remote_ips": finding.remote_ips, "domains": finding.domains,
            "ports": sorted(set(finding.remote_ports + finding.local_ports)),
        } if finding else None,
        "mirroring": {
            "sessions": [
                {"eni": s["eni_id"], "session_id": s["session_id"], "session_number": s["session_number"],
                 "vni": s["vni"], "packet_length": s.get("packet_length")}
                for s in mirror_sessions
            ],
            "skipped_enis": plan.skipped_enis,
            "vni": plan.vni,
            "filter_id": mirror_filter.get("filter_id"),
            "filter_rules": [r.model_dump(exclude_none=True) for r in plan.filter_rules],
            "network_services": mirror_filter.get("network_services", []),
            "packet_length": plan.packet_length,
            "truncation": truncation_note(plan.packet_length),
            "target_id": mirror_target.get("target_id"),
        },
        "sensor": {
            "instance_id": sensor.get("instance_id"), "private_ip": sensor.get("private_ip"),
            "subnet_id": plan.sensor.subnet_id, "availability_zone": plan.sensor.availability_zone,
            "mode": sensor_ready.get("mode"),
        },
        "window": {
            "requested_seconds": plan.duration_seconds,
            "start": (evidence.get("capture") or {}).get("start"),
            "end": (evidence.get("capture") or {}).get("end"),
        },
        "packets": packets,
        "engines": evidence.get("engine_versions") or {},
        "zeek_skipped_reason": evidence.get("zeek_skipped_reason"),
        "evidence": {
            "manifest_uri": evidence.get("manifest_uri"),
            "complete": evidence.get("complete"),
            "totals": evidence.get("totals"),
            "record_counts": evidence.get("record_counts"),
            "files": [{"key": f["key"], "bytes": f["bytes"], "sha256": f["sha256"]} for f in files],
        },
        "capture_filter": (manifest or {}).get("capture_filter") or evidence.get("capture_filter"),
        "pcap": pcap_context(manifest, evidence),
        "warnings": plan.warnings + foreign_vni_warnings(plan.vni, packets.get("vnis")),
    }


def foreign_vni_warnings(vni: int, seen: dict[str, int] | None) -> list[str]:
    """A VNI the sensor analysed that is not the sessions' VNI: traffic that is not this
    investigation's (another session to the same target, or VXLAN forged towards the sensor)."""
    foreign = {k: v for k, v in (seen or {}).items() if int(k) != vni}
    if not foreign:
        return []
    listed = ", ".join(f"VNI {k} ({v} packets)" for k, v in sorted(foreign.items(), key=lambda kv: int(kv[0])))
    return [f"the sensor analysed VXLAN of other virtual networks than this investigation's VNI {vni}: {listed}; "
            "those packets were not mirrored by this investigation's sessions"]


def pcap_context(manifest: dict[str, Any] | None, evidence: dict[str, Any]) -> dict[str, Any] | None:
    """The pcap evidence files (S3 URI, sha256, packets) and whether the size cap was reached."""
    pcap = (manifest or {}).get("pcap") or evidence.get("pcap")
    if not pcap:
        return None
    bucket = (manifest or {}).get("bucket") or evidence.get("bucket")
    files = [
        {"uri": f"s3://{bucket}/{f['key']}" if bucket else f["key"], "key": f["key"], "bytes": f.get("bytes"),
         "sha256": f.get("sha256"), "packets": f.get("packets"), "first": f.get("first"), "last": f.get("last")}
        for f in pcap.get("files") or []
    ]  # fmt: skip
    keys = ("enabled", "max_mb", "cap_reached", "packets_seen", "packets_kept", "bytes_kept", "note")
    return {**{k: pcap.get(k) for k in keys}, "files": files}
