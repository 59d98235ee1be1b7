"""How an investigation ends is defined once (tapcase_contract.outcomes) and is what the execution
output, Teardown's metric and the report's verdict carry: the names the CLI reads."""

from __future__ import annotations

import json
import typing

from tapcase_contract import outcomes
from tapcase_workflow.models.payloads import InvestigationOutcome, Verdict, WriteReportOutput
from tests.conftest import REPO


def test_the_outcome_names_are_the_contracts():
    assert typing.get_args(outcomes.Outcome) == outcomes.OUTCOMES
    assert set(typing.get_args(outcomes.ReportOutcome)) == {outcomes.SUCCEEDED, *outcomes.DEGRADED}
    assert tuple(Verdict.model_fields) == outcomes.VERDICT_FIELDS
    assert typing.get_args(InvestigationOutcome.model_fields["status"].annotation) == outcomes.OUTCOMES
    assert "outcome" in WriteReportOutput.model_fields and "verdict" in WriteReportOutput.model_fields


def test_the_execution_output_carries_status_verdict_and_warnings():
    states = json.loads((REPO / "statemachines" / "investigation.asl.json").read_text())["States"]
    assert states["Investigated"]["Parameters"] == {"status.$": "$.result.report.outcome"}
    output = states["Succeeded"]["Parameters"]
    assert output["status.$"] == "$.outcome.status"
    assert output["verdict.$"] == "$.result.report.verdict" and output["warnings.$"] == "$.result.report.warnings"
    # the teardown record reaches the report only when there is one
    assert states["Teardown"]["Next"] == "ReleaseSlot" and states["ReleaseSlot"]["Next"] == "ReportWritten"
    assert states["RecordTeardown"]["Catch"][0]["Next"] == "Outcome"
