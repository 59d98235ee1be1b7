"""Normalising what starts an investigation into one :class:`InvestigationRequest` (pure).

Three triggers: a GuardDuty finding as EventBridge delivers it (parsed with powertools' parser:
its EventBridge model with our tolerant :class:`Finding` as ``detail``), and a manual or scheduled
request (:class:`ManualRequest`). A finding without its EventBridge envelope (a bare finding, or
a test event holding only ``detail``) is accepted too.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError

from tapcase_contract.ids import investigation_id_for_execution, investigation_id_for_finding
from tapcase_workflow.errors import InvalidRequest, NotAnEc2Finding
from tapcase_workflow.models.guardduty import Finding, GuardDutyFindingEvent
from tapcase_workflow.models.request import FindingContext, InvestigationRequest, ManualRequest


def _errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(input)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _finding_context(finding: Finding) -> FindingContext:
    action = (finding.service.action if finding.service else None) or {}
    remote_ips: list[str] = []
    domains: list[str] = []
    remote_ports: list[int] = []
    local_ports: list[int] = []

    def add(values: list[Any], value: Any) -> None:
        if value not in (None, "") and value not in values:
            values.append(value)

    net = action.get("networkConnectionAction") or {}
    add(remote_ips, (net.get("remoteIpDetails") or {}).get("ipAddressV4"))
    add(remote_ports, (net.get("remotePortDetails") or {}).get("port"))
    add(local_ports, (net.get("localPortDetails") or {}).get("port"))
    dns = action.get("dnsRequestAction") or {}
    add(domains, dns.get("domain"))
    for probe in (action.get("portProbeAction") or {}).get("portProbeDetails") or []:
        add(remote_ips, (probe.get("remoteIpDetails") or {}).get("ipAddressV4"))
        add(local_ports, (probe.get("localPortDetails") or {}).get("port"))
    api = action.get("awsApiCallAction") or {}
    add(remote_ips, (api.get("remoteIpDetails") or {}).get("ipAddressV4"))

    details = finding.resource.instanceDetails
    enis = [n.networkInterfaceId for n in (details.networkInterfaces if details else []) if n.networkInterfaceId]
    return FindingContext(
        id=finding.id,
        type=finding.type,
        severity=float(finding.severity),
        title=finding.title,
        region=finding.region,
        account_id=finding.accountId,
        resource_role=finding.service.resourceRole if finding.service else None,
        count=finding.service.count if finding.service else None,
        remote_ips=[str(x) for x in remote_ips],
        domains=[str(x) for x in domains],
        remote_ports=[int(x) for x in remote_ports],
        local_ports=[int(x) for x in local_ports],
        finding_enis=enis,
    )


def _is_eventbridge_event(event: dict[str, Any]) -> bool:
    return event.get("source") == "aws.guardduty" and "detail" in event


def _is_detail_only(event: dict[str, Any]) -> bool:
    return isinstance(event.get("detail"), dict) and "resource" in event["detail"]


def _looks_like_bare_finding(event: dict[str, Any]) -> bool:
    return {"id", "type", "resource"} <= set(event) and "schemaVersion" in event


def _finding(event: dict[str, Any]) -> Finding:
    """The one finding of a GuardDuty trigger (:class:`InvalidRequest` when it is malformed)."""
    try:
        if _is_eventbridge_event(event):
            return parse(event=event, model=GuardDutyFindingEvent).detail
        return Finding.model_validate(event["detail"] if _is_detail_only(event) else event)
    except ValidationError as exc:
        raise InvalidRequest(f"not a valid GuardDuty finding: {_errors(exc)}") from None


def normalise(
    event: Any,
    *,
    execution_name: str | None = None,
    default_duration_seconds: int = 600,
    max_duration_seconds: int = 3600,
) -> InvestigationRequest:
    """Turn a GuardDuty EventBridge event, a bare finding, or a manual/scheduled request into a
    request. Raises :class:`InvalidRequest` or :class:`NotAnEc2Finding`; creates nothing."""
    if not isinstance(event, dict):
        raise InvalidRequest(f"expected a JSON object, got {type(event).__name__}")

    if _is_eventbridge_event(event) or _is_detail_only(event) or _looks_like_bare_finding(event):
        finding = _finding(event)
        resource_type = finding.resource.resourceType
        details = finding.resource.instanceDetails
        if resource_type != "Instance" or details is None or not details.instanceId:
            raise NotAnEc2Finding(
                f"finding {finding.id} ({finding.type}) is about resource type {resource_type!r}, not an EC2 instance"
            )
        try:
            return InvestigationRequest(
                investigation_id=investigation_id_for_finding(finding.id),
                trigger="guardduty",
                instance_id=details.instanceId,
                duration_seconds=min(default_duration_seconds, max_duration_seconds),
                reason=f"GuardDuty {finding.type} (severity {finding.severity:g})",
                finding=_finding_context(finding),
            )
        except ValidationError as exc:
            raise InvalidRequest(f"finding {finding.id}: {_errors(exc)}") from None

    try:
        manual = ManualRequest.model_validate(event)
    except ValidationError as exc:
        raise InvalidRequest(
            "input is neither a GuardDuty finding event nor a request like "
            '{"instance_id": "i-0123456789abcdef0", "duration_seconds": 600, "reason": "..."}: '
            + _errors(exc)
        ) from None
    if manual.duration_seconds > max_duration_seconds:
        raise InvalidRequest(
            f"duration_seconds {manual.duration_seconds} exceeds this stack's maximum of {max_duration_seconds}"
        )
    return InvestigationRequest(
        investigation_id=manual.investigation_id
        or investigation_id_for_execution(execution_name, manual.instance_id),
        trigger=manual.trigger,
        instance_id=manual.instance_id,
        duration_seconds=manual.duration_seconds,
        reason=manual.reason,
        filter_rules=manual.filter_rules,
    )
