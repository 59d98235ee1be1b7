"""Delays on the local cloud's clock: Wait states and Retry intervals (:mod:`..timescale`).

Wait (``Seconds``, ``SecondsPath``, ``Timestamp``, ``TimestampPath``) and Retry intervals (after
``IntervalSeconds``, ``BackoffRate``, ``MaxDelaySeconds`` and ``JitterStrategy``) sleep
``seconds * scale`` and end early when the execution stops. Wait ``Timestamp`` values are
compared with the current UTC time (moto 5.2.5 used local time) and may carry an offset.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from tapcase.localcloud import timescale
from tapcase.localcloud.patching import Patch, install

_WAIT = "moto.stepfunctions.parser.asl.component.state.wait.wait_function"

WAIT_INTERVAL = Patch(
    target=f"{_WAIT}.wait_function:WaitFunction._wait_interval",
    fixes="Wait states sleep on the local cloud's time scale and end when the execution stops",
    relies_on="every Wait function computes its seconds, then calls _wait_interval(env, seconds)",
    watch={f"{_WAIT}.wait_function:WaitFunction._wait_interval": "8f954dee8037"},
)
TIMESTAMP_PARSE = Patch(
    target=f"{_WAIT}.timestamp:Timestamp._from_timestamp_string",
    fixes="Wait Timestamp accepts RFC 3339 with Z or an offset",
    relies_on="Timestamp parses its string with the static _from_timestamp_string (None if invalid)",
    watch={f"{_WAIT}.timestamp:Timestamp._from_timestamp_string": "711ff48cd648"},
)
TIMESTAMP_WAIT = Patch(
    target=f"{_WAIT}.timestamp:Timestamp._get_wait_seconds",
    fixes="Wait Timestamp is compared with the current UTC time, not local time",
    relies_on="_get_wait_seconds evaluates self.string, parses it, fails with _create_failure_event",
    watch={f"{_WAIT}.timestamp:Timestamp._get_wait_seconds": "611d040940ad"},
)
RETRY_INTERVAL = Patch(
    target="moto.stepfunctions.parser.asl.component.common.retry.retrier_decl:RetrierDecl._eval_body",
    fixes="Retry intervals (after BackoffRate, MaxDelaySeconds, jitter) sleep on the time scale",
    relies_on="RetrierDecl._eval_body: ErrorEquals, MaxAttempts, then interval/backoff/max-delay/"
    "jitter components leave the delay on env.stack before time.sleep",
    watch={"moto.stepfunctions.parser.asl.component.common.retry.retrier_decl:RetrierDecl._eval_body": "48463fff19ce"},
)


def delay(env: Any, seconds: float) -> None:
    """A Wait or Retry delay; ends early if the execution stops."""
    timescale.sleep(seconds, wake=env.program_state_event, cancelled=lambda: not env.is_running())


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(timestamp: Any) -> datetime.datetime | None:
    """A Wait ``Timestamp`` (RFC 3339, upper-case ``T``, ``Z`` or an offset), or None."""
    if not isinstance(timestamp, str) or not _RFC3339.match(timestamp):
        return None
    try:
        return datetime.datetime.fromisoformat(timestamp[:-1] + "+00:00" if timestamp.endswith("Z") else timestamp)
    except ValueError:
        return None


def _wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
    delay(env, wait_seconds)


def _timestamp_wait_seconds(self: Any, env: Any) -> float:
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException

    self.string.eval(env=env)
    timestamp_text = env.stack.pop()
    timestamp = self._from_timestamp_string(timestamp=timestamp_text)
    if timestamp is None:
        raise FailureEventException(self._create_failure_event(env, timestamp_text))
    return (timestamp - datetime.datetime.now(tz=datetime.UTC)).total_seconds()


def _retrier_eval_body(self: Any, env: Any) -> None:
    """moto's RetrierDecl._eval_body, with the interval slept through the time scale."""
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsOutcome
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome

    self.error_equals.eval(env)
    if not env.stack.pop():
        env.stack.append(RetrierOutcome.Skipped)
        return
    self.max_attempts.eval(env=env)
    if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
        env.stack.append(RetrierOutcome.Failed)
        return
    # IntervalSeconds, then BackoffRate, MaxDelaySeconds and JitterStrategy transform it.
    self.interval_seconds.eval(env=env)
    self.backoff_rate.eval(env=env)
    self.max_delay_seconds.eval(env=env)
    self.jitter_strategy.eval(env=env)
    delay(env, env.stack.pop())
    env.stack.append(RetrierOutcome.Executed)


def apply() -> None:
    install(WAIT_INTERVAL, _wait_interval)
    install(TIMESTAMP_PARSE, staticmethod(parse_timestamp))
    install(TIMESTAMP_WAIT, _timestamp_wait_seconds)
    install(RETRY_INTERVAL, _retrier_eval_body)
