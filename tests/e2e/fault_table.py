"""The fault table: every Task state of the investigation state machine made to fail, and how the
execution ends (``tests/e2e/test_fault_table.py`` runs it; ``python -m tests.e2e.fault_table``
prints the table of the last run).

Outcomes, per state where they apply:

* **service error** -- the service answers an error on every attempt (Step Functions Local's
  MockConfigFile ``Throw``, with the integration's error name), retries included;
* **timeout** -- the task times out (``States.Timeout``, MockConfigFile);
* **agent answers failure** -- the real sensor agent answers ``SendTaskFailure`` (its engines fail);
* **agent never answers** -- the sensor never boots (``WaitForSensor``) or dies while collecting
  (``CollectEvidence``: noticed by its ``HeartbeatSeconds``, before ``TimeoutSeconds``).

Every row ends with zero leftovers of its investigation (sessions, target, filter, sensor, security
group, queue, lock, local sensor agent): the Teardown state cleans up, or, when Teardown itself
fails, the janitor on the execution's status change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import REPO
from tests.test_template import STATE_MACHINES, _states

ASL = json.loads((REPO / STATE_MACHINES["InvestigationStateMachine"]["Properties"]["DefinitionUri"]).read_text())
#: Every Task state, in the order the definition lists them.
TASK_STATES = [name for name, state in _states(ASL).items() if state["Type"] == "Task"]
OUTCOMES = ("service error", "timeout", "agent answers failure", "agent never answers")
#: The error each integration answers with (service prefix, as Step Functions names them).
SERVICE_ERRORS = {
    "arn:aws:states:::lambda:invoke": "Lambda.ServiceException",
    "arn:aws:states:::dynamodb:putItem": "DynamoDB.InternalServerErrorException",
    "arn:aws:states:::sqs:sendMessage.waitForTaskToken": "SQS.AmazonSQSException",
    "arn:aws:states:::athena:startQueryExecution.sync": "Athena.InternalServerException",
    "arn:aws:states:::aws-sdk:ec2:": "Ec2.InternalError",
    "arn:aws:states:::aws-sdk:sqs:": "Sqs.SqsException",
}
#: States whose failure the workflow absorbs by design (the execution still SUCCEEDS).
ABSORBED = {
    "DeleteMirrorSession": "caught: Teardown deletes the session",
    "RunQuery": "recorded: a failing query is not fatal",
}
#: States before anything exists: the execution ends FAILED having created nothing.
BEFORE_RESOURCES = ("Plan", "Lock")
#: The states the sensor agent answers.
AGENT_STATES = ("WaitForSensor", "CollectEvidence")
TABLE_FILE = REPO / ".pytest_cache" / "tapcase" / "fault-table.txt"


def service_error(state: str) -> str:
    resource = _states(ASL)[state]["Resource"]
    return next(error for prefix, error in SERVICE_ERRORS.items() if resource.startswith(prefix))


@dataclass
class Row:
    state: str
    outcome: str
    expected_status: str
    expected_error: str | None
    status: str = ""
    error: str | None = None
    leftovers: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""

    @property
    def name(self) -> str:
        short = {"service error": "err", "timeout": "timeout", "agent answers failure": "agentfail",
                 "agent never answers": "silent"}[self.outcome]
        return f"ft-{self.state.lower()}-{short}"

    @property
    def ok(self) -> bool:
        return (self.status, self.error) == (self.expected_status, self.expected_error) and not any(
            self.leftovers.values()) and bool(self.leftovers)

    def cell(self) -> str:
        left = sum(self.leftovers.values()) if self.leftovers else "?"
        error = f" {self.error}" if self.error else ""
        return f"{'ok' if self.ok else 'WRONG'}: {self.status}{error}, {left} left, {self.seconds:.0f}s"


def mock_rows() -> list[Row]:
    """A service error and a timeout of every Task state (MockConfigFile)."""
    rows = []
    for state in TASK_STATES:
        for outcome, error in (("service error", service_error(state)), ("timeout", "States.Timeout")):
            absorbed = state in ABSORBED
            rows.append(Row(state, outcome, "SUCCEEDED" if absorbed else "FAILED", None if absorbed else error,
                            note=ABSORBED.get(state, "")))
    return rows


def mock_config(machine_name: str, rows: list[Row]) -> dict[str, Any]:
    """One MockConfigFile test case per row: the row's state throws on every attempt."""
    cases, responses = {}, {}
    for row in rows:
        error = row.expected_error or (service_error(row.state) if row.outcome == "service error" else "States.Timeout")
        responses[row.name] = {"0-99": {"Throw": {"Error": error, "Cause": f"fault table: {row.state} {row.outcome}"}}}
        cases[row.name] = {row.state: row.name}
    return {"StateMachines": {machine_name: {"TestCases": cases}}, "MockedResponses": responses}


def render(rows: list[Row]) -> str:
    """States x outcomes; each cell: how the execution ended, its error, what was left."""
    by = {(r.state, r.outcome): r for r in rows}
    width = max(len(s) for s in TASK_STATES) + 2
    cells = {key: row.cell() for key, row in by.items()}
    col = max(len(o) for o in OUTCOMES + tuple(cells.values())) + 2
    lines = ["fault table: every Task state of statemachines/investigation.asl.json made to fail",
             "".ljust(width) + "".join(o.ljust(col) for o in OUTCOMES)]
    for state in TASK_STATES:
        row_cells = [cells.get((state, o), "-") for o in OUTCOMES]
        lines.append(state.ljust(width) + "".join(c.ljust(col) for c in row_cells).rstrip())
    notes = sorted({f"{r.state}: {r.note}" for r in rows if r.note})
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def main() -> None:
    if not TABLE_FILE.is_file():
        raise SystemExit(f"no fault table yet: run pytest tests/e2e/test_fault_table.py ({TABLE_FILE})")
    print(TABLE_FILE.read_text(), end="")


if __name__ == "__main__":
    main()
