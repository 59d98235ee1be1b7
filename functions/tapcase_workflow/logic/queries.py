"""The query pack rendered for one investigation (pure)."""

from __future__ import annotations

from tapcase_workflow.models.plan import PackQuery
from tapcase_workflow.models.request import InvestigationRequest
from tapcase_workflow.querypack import finding_parameters, render_pack


def pack_queries(request: InvestigationRequest, database: str, suspect_ips: list[str] | None = None) -> list[PackQuery]:
    """Every pack query that can run for this request (finding-keyed ones need the finding's values)."""
    params = finding_parameters(request.finding, suspect_ips or [])
    return [
        PackQuery(name=q.name, title=q.title, sql=q.sql)
        for q in render_pack(database=database, investigation_id=request.investigation_id, parameters=params)
    ]
