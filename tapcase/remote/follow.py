"""Following an execution: one line per state as it ends, with the time it took.

On a terminal the state running now is shown with its elapsed time, updated in place; otherwise
(a pipe, a log file, CI) each finished state is one plain line. States inside a Map run once per
item (a mirror session per ENI, a query per pack query): the Map is shown, not its items. Times
are the execution history's own (the cloud's clock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console

#: Real seconds between two looks at the execution.
#: Real seconds between two polls of a followed execution: from POLL_SECONDS growing to
#: MAX_POLL_SECONDS times the number of executions this process follows at once (many followers,
#: as in the load tests, do not flood the cloud with DescribeExecution calls).
POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.25
_followers = 0
_followers_lock = threading.Lock()


def shown_states(definition: dict[str, Any]) -> set[str]:
    """The states worth a line: those of the top level and of Parallel branches (not Map items)."""
    names: set[str] = set()
    for name, state in (definition.get("States") or {}).items():
        names.add(name)
        for branch in state.get("Branches", []) or []:
            names |= shown_states(branch)
    return names


@dataclass
class Follower:
    sfn: Any
    execution_arn: str
    console: Console | None
    shown: set[str] = field(default_factory=set)
    _entered: dict[str, datetime] = field(default_factory=dict)
    _seen: set[int] = field(default_factory=set)
    current: str | None = None
    durations: list[tuple[str, float]] = field(default_factory=list)

    def _events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": self.execution_arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def poll(self) -> None:
        for event in self._events():
            if event["id"] in self._seen:
                continue
            self._seen.add(event["id"])
            kind = event["type"]
            if kind.endswith("StateEntered"):
                name = event["stateEnteredEventDetails"]["name"]
                if name in self.shown or not self.shown:
                    self._entered.setdefault(name, event["timestamp"])
                    self.current = name
            elif kind.endswith("StateExited"):
                name = event["stateExitedEventDetails"]["name"]
                entered = self._entered.pop(name, None)
                if entered is not None:
                    seconds = max(0.0, (event["timestamp"] - entered).total_seconds())
                    self.durations.append((name, seconds))
                    if self.console is not None:
                        self.console.print(f"  [green]✓[/green] {name:<28} {seconds:7.1f}s", highlight=False)
                    if self.current == name:
                        self.current = next(iter(self._entered), None)
            elif kind.endswith("Failed") or kind.endswith("TimedOut") or kind == "ExecutionAborted":
                details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
                if self.console is not None and kind not in ("ExecutionFailed",):
                    self.console.print(f"  [yellow]![/yellow] {kind} {details.get('error', '')}", highlight=False)

    def running_line(self) -> str:
        if self.current is None:
            return "starting"
        entered = self._entered.get(self.current)
        elapsed = (datetime.now(entered.tzinfo) - entered).total_seconds() if entered else 0.0
        return f"{self.current} {max(0.0, elapsed):.0f}s"


def follow(
    sfn: Any,
    execution_arn: str,
    *,
    console: Console | None,
    timeout: float,
    definition: dict[str, Any] | None = None,
    on_timeout: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Wait for the execution to end, showing its states; its DescribeExecution."""
    global _followers
    follower = Follower(sfn, execution_arn, console, shown_states(definition or {}))
    deadline = time.monotonic() + timeout
    poll = POLL_SECONDS
    with _followers_lock:
        _followers += 1
    status = console.status("starting", spinner="dots") if console is not None and console.is_terminal else None
    if status is not None:
        status.start()
    try:
        while True:
            follower.poll()
            desc = dict(sfn.describe_execution(executionArn=execution_arn))
            if desc["status"] != "RUNNING":
                follower.poll()
                return desc
            if time.monotonic() > deadline:
                if on_timeout is not None:
                    on_timeout()
                return dict(sfn.describe_execution(executionArn=execution_arn))
            if status is not None:
                status.update(f"{follower.running_line()}")
            time.sleep(poll)
            poll = min(MAX_POLL_SECONDS * max(1, _followers), poll * 1.25)
    finally:
        with _followers_lock:
            _followers -= 1
        if status is not None:
            status.stop()
