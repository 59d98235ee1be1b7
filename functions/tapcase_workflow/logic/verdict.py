"""The investigation's verdict: its outcome and what the evidence says (pure).

An investigation whose sensor received no mirrored packet ends :data:`~tapcase_contract.outcomes.NO_TRAFFIC`,
one whose sensor lost most of what reached it (kernel drops above what it analysed)
:data:`~tapcase_contract.outcomes.INCOMPLETE_CAPTURE`: never plain success, and the warning says
why in words an analyst cannot misread as "the host is clean".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tapcase_contract import outcomes
from tapcase_workflow.logic.highlights import BEHAVIOUR, ENGINE_ALERT, FINDING, Highlight
from tapcase_workflow.logic.report_data import plural

#: Incomplete: the sensor analysed less than this share of the packets its counters say arrived.
MIN_CAPTURED_SHARE = 0.5


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def decide(context: Mapping[str, Any], highlights: Sequence[Highlight]) -> dict[str, Any]:
    """``{"outcome", "assessment", "headline", "warnings", "packets"}`` (tapcase_contract.outcomes)."""
    packets = context.get("packets") if isinstance(context.get("packets"), Mapping) else None
    seen = _int((packets or {}).get("seen"))
    dropped = _int((packets or {}).get("dropped")) or 0
    expected = (seen or 0) + dropped
    window = (context.get("window") or {}).get("requested_seconds") if isinstance(context.get("window"), Mapping) else None
    facts = {"seen": seen, "dropped": dropped if packets else None, "expected": expected if packets else None}
    warnings: list[str] = []
    if packets is not None and not seen:
        outcome = outcomes.NO_TRAFFIC
        warnings.append(
            "NO TRAFFIC: the sensor received no mirrored packet"
            + (f" during the {window}-second capture window" if window else "")
            + ". Nothing was analysed: this is NOT evidence that the instance is clean. Check that the instance "
            "was running and sending traffic, that the mirror sessions were created on its ENIs, that no "
            "lower-numbered session took the packets, and that the sensor's security group let UDP 4789 in; "
            "then investigate again."
        )
    elif packets is not None and expected and seen is not None and seen < MIN_CAPTURED_SHARE * expected:
        outcome = outcomes.INCOMPLETE_CAPTURE
        warnings.append(
            f"INCOMPLETE CAPTURE: the sensor analysed {plural(seen, 'packet')} but dropped {plural(dropped, 'packet')} "
            f"({100 * dropped / expected:.0f}% of what reached it): the report covers part of the window only. "
            "Use a larger sensor instance type or a narrower mirror filter, and investigate again."
        )
    else:
        outcome = outcomes.SUCCEEDED
    evidence = [h for h in highlights if h.evidence]
    tiers = {h.tier for h in evidence}
    if outcome == outcomes.NO_TRAFFIC:
        assessment = outcomes.NOT_ASSESSED
        headline = "No traffic was mirrored to the sensor: nothing could be assessed."
    elif ENGINE_ALERT in tiers:
        assessment = outcomes.ENGINE_ALERTS
        signatures = sum(1 for h in evidence if h.tier == ENGINE_ALERT)
        headline = f"Suricata alerts fired ({plural(signatures, 'highlighted signature')})"
        headline += "; traffic with what the finding names was seen." if FINDING in tiers else "."
    elif FINDING in tiers:
        assessment = outcomes.FINDING_CONFIRMED
        headline = "Traffic with what the finding names was seen (no engine alert)."
    elif BEHAVIOUR in tiers:
        assessment = outcomes.SUSPICIOUS_BEHAVIOUR
        headline = f"No engine alert; {plural(sum(1 for h in evidence if h.tier == BEHAVIOUR), 'behavioural highlight')}."
    else:
        assessment = outcomes.NOTHING_STOOD_OUT
        headline = "Traffic was analysed and nothing stood out in the queries that ran."
    if outcome == outcomes.INCOMPLETE_CAPTURE:
        headline = "Incomplete capture. " + headline
    return {"outcome": outcome, "assessment": assessment, "headline": headline, "warnings": warnings,
            "packets": facts}
