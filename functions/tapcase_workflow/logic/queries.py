"""The query pack rendered for one investigation (pure)."""

from __future__ import annotations

from typing import Any

from tapcase_contract.flow_logs import CONTEXT_SECONDS
from tapcase_workflow.models.plan import FlowLogWindow, PackQuery
from tapcase_workflow.models.request import InvestigationRequest
from tapcase_workflow.querypack import finding_parameters, render_pack


def flow_log_window(request: InvestigationRequest, now_epoch: int, enabled: bool) -> FlowLogWindow | None:
    """The hour before GuardDuty last saw the activity, or before the capture (``now_epoch``, the
    plan's time: the capture starts minutes later) when the request has no finding time; None
    when the stack has no flow logs."""
    if not enabled:
        return None
    seen = request.finding.last_seen if request.finding else None
    if seen is not None and int(seen.timestamp()) <= now_epoch:
        end = int(seen.timestamp())
        return FlowLogWindow(start=end - CONTEXT_SECONDS, end=end, anchor="finding")
    return FlowLogWindow(start=now_epoch - CONTEXT_SECONDS, end=now_epoch, anchor="capture")


def coverage_window(request: InvestigationRequest, now_epoch: int, covered: bool) -> FlowLogWindow | None:
    """A covered instance: the same hour before the finding (or the capture) in the fleet's rolling
    logs; None when the instance is not covered."""
    return flow_log_window(request, now_epoch, enabled=covered)


def pack_parameters(
    request: InvestigationRequest,
    suspect_ips: list[str] | None = None,
    suspect_enis: list[str] | None = None,
    flow_logs: FlowLogWindow | None = None,
    coverage: FlowLogWindow | None = None,
) -> dict[str, list[Any]]:
    """The values the pack is rendered with (WriteReport derives the skipped queries from the same)."""
    return finding_parameters(request.finding, suspect_ips or [], suspect_enis=suspect_enis or [],
                              flow_log_window=(flow_logs.start, flow_logs.end) if flow_logs else None,
                              coverage_window=(coverage.start, coverage.end) if coverage else None)


def pack_queries(
    request: InvestigationRequest,
    database: str,
    suspect_ips: list[str] | None = None,
    region: str | None = None,
    *,
    suspect_enis: list[str] | None = None,
    flow_logs: FlowLogWindow | None = None,
    coverage: FlowLogWindow | None = None,
) -> list[PackQuery]:
    """Every pack query that can run for this request (finding-keyed ones need the finding's values,
    the flow-log one a flow-log window; ``region``: whose AWS service endpoints are never
    beacon/DGA/tunnelling candidates)."""
    params = pack_parameters(request, suspect_ips, suspect_enis, flow_logs, coverage)
    return [
        PackQuery(name=q.name, title=q.title, sql=q.sql)
        for q in render_pack(database=database, investigation_id=request.investigation_id, parameters=params,
                             region=region)
    ]
