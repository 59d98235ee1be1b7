"""Finished executions: what a long-running local cloud keeps of them, bounded.

moto 5.2.5 keeps everything an execution ever touched for as long as the process lives: every
worker thread the interpreter starts goes into ``moto.stepfunctions.parser.utils.TMP_THREADS``
(appended, never read or removed), and each finished execution keeps its interpreter environment
(frames, states, the program, callback endpoints, events). Memory and the garbage collector's work
grow with every run of ``tapcase local serve`` (measured: ~2 MB and ~67 threads per investigation,
and each run slower than the last).

When an execution ends (:func:`execution_ended`, called from :mod:`.executions`):

- the threads of ``TMP_THREADS`` that have ended are dropped;
- the execution keeps what the API can still be asked about it and nothing more: its
  DescribeExecution fields (on moto's ``Execution``), its history (GetExecutionHistory) and the
  task tokens it handed out (a late SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat is answered
  ``TaskTimedOut``, as on AWS, see :mod:`.callbacks`); the environment is replaced by
  :class:`FinishedEnvironment`;
- each state machine keeps at most :func:`limit` finished executions (``TAPCASE_MAX_FINISHED_EXECUTIONS``,
  :func:`set_limit`, ``tapcase local serve --keep-executions``); older finished ones are forgotten:
  DescribeExecution answers ``ExecutionDoesNotExist``, as AWS does once an execution is past its
  history retention (90 days after it closed, Step Functions quotas). Running executions are never
  dropped, nor those that ended less than :func:`min_age` seconds ago (real time, default 60 s,
  ``TAPCASE_FINISHED_EXECUTION_MIN_AGE``, :func:`set_min_age`): a client still following one (50
  investigations at once: their followers read the end a few seconds after it) must find it, as it
  would on AWS; they are forgotten at a later execution's end.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from tapcase.localcloud.patching import Patch, install

TERMINATED = Patch(
    target="moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication.terminated",
    fixes="a finished execution keeps its history and tokens, not its threads and environment; "
    "at most limit() finished executions per state machine are kept",
    relies_on="the execution worker calls terminated() once, after program.eval returned, as its last "
    "step; terminated() reflects the final status onto the Execution (_reflect_execution_status); "
    "worker threads are only appended to parser.utils.TMP_THREADS, never read",
    watch={
        "moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication.terminated": "360372a6a57b",
        "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._execution_logic": "baa3e2a48fd2",
    },
)

#: Finished executions kept per state machine unless configured (each keeps its history: an
#: investigation's is ~2 MB of JSON).
DEFAULT_LIMIT = 25
_LIMIT_ENV = "TAPCASE_MAX_FINISHED_EXECUTIONS"

#: Seconds (real time) a finished execution is kept whatever the limit, unless configured.
DEFAULT_MIN_AGE = 60.0
_MIN_AGE_ENV = "TAPCASE_FINISHED_EXECUTION_MIN_AGE"
#: Attribute set on moto's Execution when it ends (time.monotonic()).
_ENDED_AT = "_tapcase_ended_at"

_lock = threading.Lock()
_limit: int | None = None
_min_age: float | None = None


def limit() -> int:
    if _limit is not None:
        return _limit
    raw = os.environ.get(_LIMIT_ENV)
    return int(raw) if raw else DEFAULT_LIMIT


def set_limit(value: int | None) -> None:
    """Finished executions kept per state machine (None: the environment's or the default)."""
    global _limit
    if value is not None and value < 0:
        raise ValueError(f"the number of finished executions to keep must be >= 0, got {value}")
    _limit = value


def min_age() -> float:
    if _min_age is not None:
        return _min_age
    raw = os.environ.get(_MIN_AGE_ENV)
    return float(raw) if raw else DEFAULT_MIN_AGE


def set_min_age(value: float | None) -> None:
    """Seconds a finished execution is kept whatever the limit (None: the environment's or the default)."""
    global _min_age
    if value is not None and value < 0:
        raise ValueError(f"the minimum age of a forgotten execution must be >= 0, got {value}")
    _min_age = value


class _ClosedTokens:
    """The task tokens an execution handed out, all closed (its tasks have ended)."""

    def __init__(self, tokens: list[str]) -> None:
        self._pool: dict[str, Any] = dict.fromkeys(tokens, self)
        self._tapcase_closed = True

    def get(self, token: str) -> Any:
        return self._pool.get(token)

    def get_outcome(self) -> None:
        return None

    def interrupt_all(self) -> None:
        return None


class FinishedEnvironment:
    """What a finished execution keeps of its interpreter environment: its history and its tokens."""

    def __init__(self, env: Any) -> None:
        self.event_manager = env.event_manager
        self.callback_pool_manager = _ClosedTokens(list(env.callback_pool_manager._pool))
        self._program_state = env.program_state()

    def program_state(self) -> Any:
        return self._program_state

    def is_running(self) -> bool:
        return False


def prune_threads() -> int:
    """Drops the ended threads from moto's TMP_THREADS; returns how many are left."""
    from moto.stepfunctions.parser import utils

    with _lock:
        utils.TMP_THREADS[:] = [t for t in utils.TMP_THREADS if t.is_alive()]
        return len(utils.TMP_THREADS)


def _finished(execution: Any) -> bool:
    from moto.stepfunctions.parser.api import ExecutionStatus

    return execution.exec_status not in (None, ExecutionStatus.RUNNING)


def execution_ended(execution: Any) -> None:
    """Releases what a finished execution no longer needs, and forgets the oldest finished ones."""
    setattr(execution, _ENDED_AT, time.monotonic())
    worker = execution.exec_worker
    env = getattr(worker, "env", None)
    if env is not None and not isinstance(env, FinishedEnvironment):
        worker.env = FinishedEnvironment(env)
    prune_threads()
    forget_oldest(execution)


def forget_oldest(execution: Any) -> None:
    """Keeps at most :func:`limit` finished executions on the state machine ``execution`` ran on,
    besides those that ended less than :func:`min_age` seconds ago."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[execution.account_id][execution.region_name]
    keep = limit()
    ended_before = time.monotonic() - min_age()
    with _lock:
        for machine in backend.state_machines:
            executions = machine.executions
            if execution not in executions:
                continue
            finished = [e for e in executions if _finished(e)]
            if len(finished) <= keep:
                return
            drop = {id(e) for e in finished[: len(finished) - keep]
                    if getattr(e, _ENDED_AT, float("-inf")) <= ended_before}
            executions[:] = [e for e in executions if id(e) not in drop]
            return


def finished_executions() -> int:
    """Finished executions kept, over every account, region and state machine (tests, benchmarks)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    count = 0
    for account in list(stepfunctions_parser_backends.values()):
        for backend in list(account.values()):
            for machine in backend.state_machines:
                count += sum(1 for e in machine.executions if _finished(e))
    return count


def _terminated(self: Any) -> None:
    """moto's ``terminated``: the final status reflected, then what the execution no longer needs released."""
    self._reflect_execution_status()
    execution_ended(self.execution)


def apply() -> None:
    install(TERMINATED, _terminated)
