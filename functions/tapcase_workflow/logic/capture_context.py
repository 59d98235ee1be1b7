"""What the report says was captured (pure): ENIs, sessions, VNI, window, packets, engines, files,
the capture filter the sensor used and the pcap evidence files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tapcase_workflow.models.payloads import (
    CreateMirrorFilterOutput,
    FleetReceiver,
    MirrorSessionCreated,
    MirrorTargetCreated,
    SensorLaunched,
    SensorReady,
)
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
    sensor: SensorLaunched | FleetReceiver | None,
    sensor_ready: SensorReady | None,
    mirror_sessions: Sequence[MirrorSessionCreated],
    mirror_filter: CreateMirrorFilterOutput | None,
    mirror_target: MirrorTargetCreated | None,
    evidence: Mapping[str, Any],
    manifest: Mapping[str, Any] | None,
    execution_arn: str,
) -> dict[str, Any]:
    """The report's ``context``: the plan, what the states created and the sensor's answers
    (``evidence``: CollectEvidence's answer; ``manifest``: the manifest it names, read from S3)."""
    files = (manifest or {}).get("files") or evidence.get("files") or []
    finding = plan.request.finding
    packets = evidence.get("packets") or {}
    return {
        "trigger": plan.request.trigger,
        "reason": plan.request.reason,
        "execution_arn": execution_arn,
        "instance": {"id": plan.instance_id, "type": plan.instance_type,
                     "name": finding.instance_name if finding else None,
                     # the account it lives in (a member account's instance is investigated there)
                     "account": plan.account.account_id if plan.account else None,
                     "member_account": bool(plan.account and plan.account.member)},
        "finding": {
            "id": finding.id, "arn": finding.arn, "type": finding.type, "severity": finding.severity,
            "title": finding.title,
            "remote_ips": finding.remote_ips, "domains": finding.domains,
            "ports": sorted(set(finding.remote_ports + finding.local_ports)),
        } if finding else None,
        "mirroring": {
            "sessions": [
                {"eni": s.eni_id, "session_id": s.session_id, "session_number": s.session_number,
                 "vni": s.vni, "packet_length": s.packet_length}
                for s in mirror_sessions
            ],
            "skipped_enis": plan.skipped_enis,
            "vni": plan.vni,
            "filter_id": mirror_filter.filter_id if mirror_filter else None,
            "filter_rules": [r.model_dump(exclude_none=True) for r in plan.filter_rules],
            "network_services": mirror_filter.network_services if mirror_filter else [],
            "packet_length": plan.packet_length,
            "truncation": truncation_note(plan.packet_length),
            "target_id": mirror_target.target_id if mirror_target else None,
            # Which target received the traffic: the investigation's own sensor or the fleet's
            # (an NLB or GWLB endpoint; the fleet tells investigations apart by the VNI).
            "target": {**plan.target.model_dump(mode="json", exclude_none=True, exclude={"control_queue_url"}),
                       "vni": plan.vni},
        },
        "sensor": {
            "instance_id": sensor.instance_id if isinstance(sensor, SensorLaunched) else None,
            "private_ip": sensor.private_ip if sensor else None,
            "subnet_id": plan.sensor.subnet_id if plan.sensor else None,
            "availability_zone": plan.sensor.availability_zone if plan.sensor else None,
            "mode": sensor_ready.mode if sensor_ready else None,
            "fleet_target_id": sensor.fleet_target_id if isinstance(sensor, FleetReceiver) else None,
        },
        "window": {
            "requested_seconds": plan.duration_seconds,
            "start": (evidence.get("capture") or {}).get("start"),
            "end": (evidence.get("capture") or {}).get("end"),
        },
        "packets": packets,
        "engines": evidence.get("engine_versions") or {},
        "rules": rules_context(manifest),
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
        # The flow-log context's window (None: the stack has no flow logs).
        "flow_logs": plan.flow_logs.model_dump() if plan.flow_logs else None,
        # Coverage mode's window of the fleet's rolling logs (None: the instance was not covered).
        "coverage": plan.coverage.model_dump() if plan.coverage else None,
        "warnings": plan.warnings + foreign_vni_warnings(plan.vni, packets.get("vnis"))
        + [str(w) for w in (manifest or {}).get("warnings") or []],
    }


def rules_context(manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    """Suricata's signatures loaded and failed, as the sensor read them from its stats (manifest
    ``engines.suricata``; None when Suricata did not run, e.g. no packets)."""
    suricata = ((manifest or {}).get("engines") or {}).get("suricata") or {}
    return {"loaded": suricata.get("rules_loaded"), "failed": suricata.get("rules_failed")}


def foreign_vni_warnings(vni: int, seen: dict[str, int] | None) -> list[str]:
    """A VNI the sensor analysed that is not the sessions' VNI: traffic that is not this
    investigation's (another session to the same target, or VXLAN forged towards the sensor)."""
    foreign = {k: v for k, v in (seen or {}).items() if int(k) != vni}
    if not foreign:
        return []
    listed = ", ".join(f"VNI {k} ({v} packets)" for k, v in sorted(foreign.items(), key=lambda kv: int(kv[0])))
    return [f"the sensor analysed VXLAN of other virtual networks than this investigation's VNI {vni}: {listed}; "
            "those packets were not mirrored by this investigation's sessions"]


def pcap_context(manifest: Mapping[str, Any] | None, evidence: Mapping[str, Any]) -> dict[str, Any] | None:
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
