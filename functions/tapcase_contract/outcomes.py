"""How an investigation ends, in one word, and what the execution output says about it.

The state machine's output (``Succeeded``) carries ``status`` (one of :data:`OUTCOMES`), ``verdict``
(the report's :data:`VERDICT_FIELDS`) and ``warnings``; Teardown records ``status`` as the
``outcome`` dimension of its metrics; the CLI shows it as the run's outcome. WriteReport decides
the outcome of an investigation that reached it (:data:`SUCCEEDED`, :data:`NO_TRAFFIC` or
:data:`INCOMPLETE_CAPTURE`); Plan and Lock end the others (:data:`SKIPPED`,
:data:`ALREADY_UNDER_INVESTIGATION`); anything that fails is :data:`FAILED`.
"""

from __future__ import annotations

from typing import Final, Literal

#: The investigation ran, the sensor saw the mirrored traffic, the report says what it found.
SUCCEEDED: Final = "succeeded"
#: The sensor received no mirrored packet: nothing was analysed. Never read as "host is clean".
NO_TRAFFIC: Final = "no_traffic"
#: The sensor received far fewer packets than its own counters say reached it (drops): the
#: report covers part of the window only.
INCOMPLETE_CAPTURE: Final = "incomplete_capture"
#: Something failed (the execution ends FAILED with the original error).
FAILED: Final = "failed"
#: Nothing to investigate (not an EC2 finding, or the finding was investigated already).
SKIPPED: Final = "skipped"
#: Another execution holds the instance's lock.
ALREADY_UNDER_INVESTIGATION: Final = "already_under_investigation"

Outcome = Literal[
    "succeeded", "no_traffic", "incomplete_capture", "failed", "skipped", "already_under_investigation"
]
#: What WriteReport may decide.
ReportOutcome = Literal["succeeded", "no_traffic", "incomplete_capture"]
OUTCOMES: Final = (SUCCEEDED, NO_TRAFFIC, INCOMPLETE_CAPTURE, FAILED, SKIPPED, ALREADY_UNDER_INVESTIGATION)
#: Outcomes that are not plain success although the execution SUCCEEDED: say so loudly.
DEGRADED: Final = frozenset({NO_TRAFFIC, INCOMPLETE_CAPTURE})

#: The report's ``verdict`` object (also the execution output's ``verdict``): its keys.
#: ``outcome`` (above), ``assessment`` (:data:`ASSESSMENTS`), ``headline`` (one sentence),
#: ``warnings`` (loud, for the summary), ``packets`` (``seen``, ``dropped``, ``expected``).
VERDICT_FIELDS: Final = ("outcome", "assessment", "headline", "warnings", "packets")

#: What the evidence says, strongest first.
ENGINE_ALERTS: Final = "engine_alerts"  # Suricata signatures fired
FINDING_CONFIRMED: Final = "finding_confirmed"  # traffic with the finding's IPs/domains/ports was seen
SUSPICIOUS_BEHAVIOUR: Final = "suspicious_behaviour"  # heuristics above their thresholds
NOTHING_STOOD_OUT: Final = "nothing_stood_out"  # traffic analysed, no highlight
NOT_ASSESSED: Final = "not_assessed"  # no traffic: nothing could be assessed
ASSESSMENTS: Final = (ENGINE_ALERTS, FINDING_CONFIRMED, SUSPICIOUS_BEHAVIOUR, NOTHING_STOOD_OUT, NOT_ASSESSED)
