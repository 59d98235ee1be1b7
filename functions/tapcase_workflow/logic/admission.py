"""How many investigations may run at once in the account, and what an extra one does (pure).

The stack holds one set of admitted executions (``holders``); an investigation is admitted when the
set, once the executions that no longer run are taken out of it, has room for it
(``MaxConcurrentInvestigations``). The room is taken by one conditional write, so two executions
that ask at the same moment can never both take the last slot. An investigation that finds no room
waits and asks again (``ConcurrencyLimitAction=wait``, up to ``ConcurrencyMaxWaitSeconds``) or is
refused at once (``refuse``), with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tapcase_workflow.errors import TooManyInvestigations

#: Seconds between two asks of an investigation that waits for a slot.
RETRY_SECONDS = 60


@dataclass(frozen=True)
class Admission:
    admitted: bool
    running: int
    limit: int
    wait_seconds: int
    reason: str


def admitted(running: int, limit: int) -> Admission:
    return Admission(True, running, limit, 0, f"admitted: {running} of {limit} investigation slots taken")


def no_room(
    *,
    running: int,
    limit: int,
    action: Literal["wait", "refuse"],
    waited_seconds: float,
    max_wait_seconds: int,
) -> Admission:
    """The answer when every slot is taken: wait once more, or :class:`TooManyInvestigations`."""
    full = (f"{running} investigations are running and this stack allows {limit} at once "
            "(MaxConcurrentInvestigations)")
    if action == "refuse":
        raise TooManyInvestigations(f"{full}; ConcurrencyLimitAction is refuse: start it again later")
    if waited_seconds + RETRY_SECONDS > max_wait_seconds:
        raise TooManyInvestigations(
            f"{full}; waited {int(waited_seconds)} s for a slot, ConcurrencyMaxWaitSeconds allows {max_wait_seconds}"
        )
    return Admission(False, running, limit, RETRY_SECONDS, f"{full}: waiting {RETRY_SECONDS} s for a slot")
