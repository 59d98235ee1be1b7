"""Normalising what starts an investigation into one request (pure).

Triggers: a GuardDuty finding as EventBridge delivers it (parsed with powertools' parser: its
EventBridge model with our tolerant :class:`Finding` as ``detail``), a GuardDuty finding as Security
Hub delivers it ("Security Hub Findings - Imported", ASFF: :mod:`tapcase_workflow.logic.securityhub`
makes it the GuardDuty finding it is, so both ways give the same request), and a manual or
scheduled request (:class:`ManualRequest`, the one documented schema). A finding without its
EventBridge envelope (a bare finding, or a test event holding only ``detail``) is accepted too.

A request for one instance becomes an :class:`InvestigationRequest`; one that selects instances by
tags or ENIs a :class:`SelectionRequest`, which Plan resolves against EC2; a Security Hub event
holding several findings a :class:`FindingBatch` (one child execution per eligible finding, as a
selection of several instances is investigated). Every refusal names the
field at fault and creates nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError

from tapcase_contract.errors import ContractError
from tapcase_contract.ids import (
    investigation_id_for_execution,
    investigation_id_for_finding,
    investigation_id_for_manual,
)
from tapcase_workflow.errors import (
    InvalidRequest,
    NotAnEc2Finding,
    SampleFinding,
    TapcaseError,
)
from tapcase_workflow.logic import securityhub
from tapcase_workflow.logic.accounts import AccountPolicy, check_finding_account, check_request_account
from tapcase_workflow.models.guardduty import Finding, GuardDutyFindingEvent
from tapcase_workflow.models.request import (
    FindingContext,
    InvestigationRequest,
    ManualRequest,
    SelectionRequest,
)
from tapcase_workflow.models.securityhub import DETAIL_TYPE, SOURCE, AsffFinding, SecurityHubFindingsEvent

#: GuardDuty ``resource.resourceType`` values, as a reader names them.
RESOURCE_TYPES = {
    "Instance": "EC2 instance",
    "S3Bucket": "S3 bucket",
    "AccessKey": "access key",
    "EKSCluster": "EKS cluster",
    "KubernetesCluster": "Kubernetes cluster",
    "ECSCluster": "ECS cluster",
    "Container": "container",
    "Lambda": "Lambda function",
    "RDSDBInstance": "RDS database instance",
    "RDSLimitlessDB": "RDS Limitless database",
    "S3Object": "S3 object",
    "EBSVolume": "EBS volume",
}

EXAMPLE_REQUEST = '{"instance_id": "i-0123456789abcdef0", "duration_seconds": 600, "reason": "..."}'


@dataclass(frozen=True)
class EntryPolicy:
    """What the stack decides about every entry (Plan's settings)."""

    default_duration_seconds: int = 600
    max_duration_seconds: int = 3600
    #: The stack's account: a finding or request about an account that is neither it nor one of
    #: ``member_accounts`` is refused (None: not checked).
    account_id: str | None = None
    #: GuardDuty sample findings end "skipped" (the stack parameter IgnoreSampleFindings).
    ignore_sample_findings: bool = True
    #: The stack's MemberAccounts: other accounts it may act in, through their member role.
    member_accounts: frozenset[str] = frozenset()

    @property
    def accounts(self) -> AccountPolicy:
        return AccountPolicy(own=self.account_id, members=self.member_accounts)


def _errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(input)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def resource_label(resource_type: str | None) -> str:
    """``S3Bucket`` -> ``S3 bucket``; an unknown type spelled out from its camel case."""
    if not resource_type:
        return "no resource type"
    if resource_type in RESOURCE_TYPES:
        return RESOURCE_TYPES[resource_type]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", resource_type)


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
    name = next((str(t.get("value")) for t in (details.tags or []) if details and isinstance(t, dict)
                 and t.get("key") == "Name" and t.get("value")), None) if details else None
    return FindingContext(
        id=finding.id,
        type=finding.type,
        severity=float(finding.severity),
        arn=finding.arn,
        instance_name=name,
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
        last_seen=_finding_time(finding),
    )


def _finding_time(finding: Finding) -> datetime | None:
    """``service.eventLastSeen``, else ``updatedAt`` (ISO 8601); None when neither parses."""
    for value in ((finding.service.eventLastSeen if finding.service else None), finding.updatedAt):
        if not value:
            continue
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _is_eventbridge_event(event: dict[str, Any]) -> bool:
    return event.get("source") == "aws.guardduty" and "detail" in event


def _is_detail_only(event: dict[str, Any]) -> bool:
    return isinstance(event.get("detail"), dict) and "resource" in event["detail"]


def _looks_like_bare_finding(event: dict[str, Any]) -> bool:
    return {"id", "type", "resource"} <= set(event) and "schemaVersion" in event


def is_finding(event: Any) -> bool:
    """Whether ``event`` is a finding (any of the accepted shapes, Security Hub's too), not a request."""
    return isinstance(event, dict) and (
        is_securityhub_event(event) or _is_eventbridge_event(event) or _is_detail_only(event)
        or _looks_like_bare_finding(event)
    )


def _finding(event: dict[str, Any]) -> Finding:
    """The one finding of a GuardDuty trigger (:class:`InvalidRequest` when it is malformed)."""
    try:
        if _is_eventbridge_event(event):
            return parse(event=event, model=GuardDutyFindingEvent).detail
        return Finding.model_validate(event["detail"] if _is_detail_only(event) else event)
    except ValidationError as exc:
        raise InvalidRequest(f"not a valid GuardDuty finding: {_errors(exc)}") from None


def _is_sample(finding: Finding) -> bool:
    info = (finding.service.additionalInfo if finding.service else None) or {}
    return info.get("sample") is True


@dataclass(frozen=True)
class FindingBatch:
    """A Security Hub event with several findings: each eligible finding's request and the event a
    child execution investigates it from (the same envelope with that finding alone); the
    findings left out, each with why."""

    children: list[tuple[InvestigationRequest, dict[str, Any]]]
    warnings: list[str]


def is_securityhub_event(event: Any) -> bool:
    return isinstance(event, dict) and event.get("source") == SOURCE and event.get("detail-type") == DETAIL_TYPE


def _from_asff(finding: AsffFinding, envelope_account: str | None, policy: EntryPolicy) -> InvestigationRequest:
    securityhub.check_active(finding)
    securityhub.check_guardduty(finding)
    try:
        converted = securityhub.as_guardduty_finding(finding)
    except ValidationError as exc:
        raise InvalidRequest(f"{securityhub.describe(finding)}: {_errors(exc)}") from None
    return _request_for(converted, envelope_account, policy)


def _from_securityhub(event: dict[str, Any], policy: EntryPolicy) -> InvestigationRequest | FindingBatch:
    """One finding (what Security Hub sends: "Each event sends a single finding"): its request.
    Several (a replayed or hand-made event): a :class:`FindingBatch` of the eligible ones; none
    eligible: the first one's refusal."""
    try:
        parsed = parse(event=event, model=SecurityHubFindingsEvent)
    except ValidationError as exc:
        raise InvalidRequest(f"not a valid Security Hub finding event: {_errors(exc)}") from None
    envelope = str(event["account"]) if event.get("account") else None
    findings = parsed.detail.findings
    if len(findings) == 1:
        return _from_asff(findings[0], envelope, policy)
    children: list[tuple[InvestigationRequest, dict[str, Any]]] = []
    warnings: list[str] = []
    refusals: list[TapcaseError] = []
    for raw, finding in zip(event["detail"]["findings"], findings, strict=True):
        try:
            request = _from_asff(finding, envelope, policy)
        except TapcaseError as exc:
            warnings.append(f"not investigated: {type(exc).__name__}: {exc}")
            refusals.append(exc)
            continue
        if any(r.investigation_id == request.investigation_id for r, _ in children):
            warnings.append(f"not investigated twice: {securityhub.describe(finding)} (listed more than once)")
            continue
        children.append((request, {**event, "detail": {**event["detail"], "findings": [raw]}}))
    if not children:
        raise refusals[0]
    return FindingBatch(children, warnings)


def _from_finding(event: dict[str, Any], policy: EntryPolicy) -> InvestigationRequest:
    finding = _finding(event)
    return _request_for(finding, event.get("account") if _is_eventbridge_event(event) else None, policy)


def _request_for(finding: Finding, envelope_account: Any, policy: EntryPolicy) -> InvestigationRequest:
    what = f"finding {finding.id} ({finding.type})"
    # The member's account (a delegated administrator receives the finding in its own account:
    # the envelope's ``account`` is then the administrator's, ``detail.accountId`` the member's).
    account = finding.accountId or envelope_account
    account = check_finding_account(str(account) if account else None, policy.accounts, what)
    resource_type = finding.resource.resourceType
    if resource_type != "Instance":
        raise NotAnEc2Finding(f"not an EC2 finding: {resource_label(resource_type)} ({what})")
    if policy.ignore_sample_findings and _is_sample(finding):
        raise SampleFinding(
            f"{what} is a GuardDuty sample finding (service.additionalInfo.sample): ignored, as the stack's "
            "IgnoreSampleFindings says"
        )
    details = finding.resource.instanceDetails
    if details is None or not details.instanceId:
        raise InvalidRequest(
            f"{what}: resource.instanceDetails.instanceId: missing, but resource.resourceType is Instance"
        )
    try:
        return InvestigationRequest(
            investigation_id=investigation_id_for_finding(finding.id),
            trigger="guardduty",
            instance_id=details.instanceId,
            duration_seconds=min(policy.default_duration_seconds, policy.max_duration_seconds),
            reason=f"GuardDuty {finding.type} (severity {finding.severity:g})",
            finding=_finding_context(finding),
            account_id=account if account and account != policy.account_id else None,
        )
    except ValidationError as exc:
        raise InvalidRequest(f"{what}: {_errors(exc)}") from None


def _manual(event: dict[str, Any]) -> ManualRequest:
    try:
        return ManualRequest.model_validate(event)
    except ValidationError as exc:
        raise InvalidRequest(
            f"input is neither a GuardDuty finding event nor a request like {EXAMPLE_REQUEST}: {_errors(exc)}"
        ) from None


def parse_entry(
    event: Any, *, execution_name: str | None = None, policy: EntryPolicy | None = None
) -> InvestigationRequest | SelectionRequest | FindingBatch:
    """Any entry into one request: for one instance, a selection Plan resolves, or a batch of
    Security Hub findings.

    Raises :class:`InvalidRequest` (naming the field), :class:`NotAnEc2Finding`,
    :class:`NotAGuardDutyFinding`, :class:`FindingNotActive`, :class:`SampleFinding`,
    :class:`FindingFromAnotherAccount` or :class:`AccountNotAllowed`; creates nothing."""
    policy = policy or EntryPolicy()
    if not isinstance(event, dict):
        raise InvalidRequest(f"expected a JSON object, got {type(event).__name__}")
    if is_securityhub_event(event):
        return _from_securityhub(event, policy)
    if is_finding(event):
        return _from_finding(event, policy)

    manual = _manual(event)
    account = check_request_account(manual.account_id, policy.accounts)
    account = account if account and account != policy.account_id else None
    duration = manual.duration_seconds or min(policy.default_duration_seconds, policy.max_duration_seconds)
    if duration > policy.max_duration_seconds:
        raise InvalidRequest(
            f"duration_seconds: {duration} exceeds this stack's maximum of {policy.max_duration_seconds} "
            "(MaxCaptureSeconds)"
        )
    if manual.instance_id is None:
        return SelectionRequest(
            trigger=manual.trigger, tags=manual.tags, eni_ids=manual.eni_ids, duration_seconds=duration,
            reason=manual.reason, investigation_id=manual.investigation_id, filter_rules=manual.filter_rules,
            requested_by=manual.requested_by, dry_run=manual.dry_run, target=manual.target, account_id=account,
        )
    try:
        investigation_id = (
            investigation_id_for_manual(manual.investigation_id, manual.instance_id)
            if manual.investigation_id
            else investigation_id_for_execution(execution_name, manual.instance_id)
        )
    except ContractError as exc:
        raise InvalidRequest(f"investigation_id: {exc}") from None
    return InvestigationRequest(
        investigation_id=investigation_id,
        trigger=manual.trigger,
        instance_id=manual.instance_id,
        duration_seconds=duration,
        reason=manual.reason,
        filter_rules=manual.filter_rules,
        eni_ids=manual.eni_ids,
        requested_by=manual.requested_by,
        dry_run=manual.dry_run,
        target=manual.target,
        account_id=account,
    )


def normalise(
    event: Any,
    *,
    execution_name: str | None = None,
    default_duration_seconds: int = 600,
    max_duration_seconds: int = 3600,
    account_id: str | None = None,
    ignore_sample_findings: bool = True,
) -> InvestigationRequest:
    """A GuardDuty EventBridge event, a bare finding, or a manual/scheduled request for one
    instance, as one request (see :func:`parse_entry`; a selection by tags or ENIs is refused here:
    Plan resolves those)."""
    policy = EntryPolicy(default_duration_seconds, max_duration_seconds, account_id, ignore_sample_findings)
    entry = parse_entry(event, execution_name=execution_name, policy=policy)
    if isinstance(entry, SelectionRequest):
        raise InvalidRequest("instance_id: this request selects instances by tags or ENIs; one instance is needed here")
    if isinstance(entry, FindingBatch):
        raise InvalidRequest("detail.findings: this event holds several findings; one finding is needed here")
    return entry
