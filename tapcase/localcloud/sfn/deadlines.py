"""Deadlines on the local cloud's clock (:mod:`..timescale`), and ``.sync`` polling.

Task ``TimeoutSeconds``/``HeartbeatSeconds`` and a state machine's ``TimeoutSeconds`` wait
``timescale.scaled_timeout(seconds)`` of real time (never less than the floor, so that real work
in this process is not timed out at scale 0); moto's "no timeout" default stays unbounded. The
history keeps the declared values. A Task's deadlines (its ``TimeoutSeconds``, its token wait,
its heartbeat) do not count the time this machine computes for the cloud
(:mod:`tapcase.localcloud.local_work`: local sensors, Lambda handlers, Athena queries), and never
exceed the declared seconds in real time. ``.sync`` tasks poll their job every 0.05 s of real time
instead of 0.5 s: the local services answer at once, and polling is not workflow time.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from tapcase.localcloud import local_work, timescale
from tapcase.localcloud.patching import Patch, install
from tapcase.localcloud.sfn import callbacks

_CALLBACK = "moto.stepfunctions.parser.asl.eval.callback.callback"

TASK_TIMEOUT = Patch(
    target="moto.stepfunctions.parser.asl.component.state.exec.execute_state:ExecutionState._evaluate_with_timeout",
    fixes="a Task's TimeoutSeconds is a deadline on the time scale; a timed-out task's token is closed",
    relies_on="_evaluate_with_timeout runs _eval_execution(frame) in a thread and waits for it "
    "timeout_seconds, raising EvalTimeoutError (a TimeoutError) when it does not finish",
    watch={
        "moto.stepfunctions.parser.asl.component.state.exec.execute_state"
        ":ExecutionState._evaluate_with_timeout": "c56deda08a42",
    },
)
EXECUTION_TIMEOUT = Patch(
    target="moto.stepfunctions.parser.asl.component.program.program:Program.eval",
    fixes="a state machine's TimeoutSeconds is a deadline on the time scale (TIMED_OUT)",
    relies_on="Program.eval runs the states in a thread, joins it for TimeoutSeconds, then "
    "env.set_timed_out()",
    watch={"moto.stepfunctions.parser.asl.component.program.program:Program.eval": "6d701880064a"},
)
CALLBACK_WAIT = Patch(
    target=f"{_CALLBACK}:CallbackEndpoint.wait",
    fixes="a .waitForTaskToken task's own wait ends at the scaled deadline too",
    relies_on="the callback task waits on CallbackEndpoint._notify_event with its timeout",
    watch={f"{_CALLBACK}:CallbackEndpoint.wait": "85d0fa6224f1"},
)
HEARTBEAT_WAIT = Patch(
    target=f"{_CALLBACK}:HeartbeatEndpoint.clear_and_wait",
    fixes="HeartbeatSeconds is a deadline on the time scale",
    relies_on="the heartbeat loop calls clear_and_wait(); False means the heartbeat timed out",
    watch={f"{_CALLBACK}:HeartbeatEndpoint.clear_and_wait": "2037f07deefe"},
)
ACTIVITY_WAIT = Patch(
    target=f"{_CALLBACK}:ActivityTaskStartEndpoint.wait",
    fixes="an activity's wait for a worker is a deadline on the time scale",
    relies_on="activity tasks wait on _next_activity_task_start_event with their timeout",
    watch={f"{_CALLBACK}:ActivityTaskStartEndpoint.wait": "80f71c6a0a52"},
)
SYNC_POLLING = Patch(
    target="moto.stepfunctions.parser.asl.component.state.exec.state_task.service"
    ".state_task_service_callback:_DELAY_SECONDS_SYNC_CONDITION_CHECK",
    fixes=".sync tasks notice their job's end within 0.05 s instead of 0.5 s",
    relies_on="_eval_sync sleeps the module constant _DELAY_SECONDS_SYNC_CONDITION_CHECK between polls",
    watch={
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback"
        ":StateTaskServiceCallback._eval_sync": "b8f76de4d514",
    },
)

#: Real seconds between two status checks of a ``.sync`` task's job.
SYNC_POLL_SECONDS = 0.05


def deadline(seconds: float | None) -> float | None:
    """Real seconds for a declared timeout; moto's 'no timeout' default stays as it is."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    if seconds is None or seconds >= TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS:
        return seconds
    return timescale.scaled_timeout(seconds)


def _wait_for_task(event: threading.Event, seconds: float | None) -> bool:
    """Wait for a task's ``event`` against its declared deadline, without the local work."""
    if seconds is None or seconds >= _no_timeout():
        return event.wait(seconds)  # moto's "no timeout": unbounded
    return local_work.wait(event, seconds)


def _no_timeout() -> float:
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    return float(TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS)


def _evaluate_with_timeout(self: Any, env: Any) -> None:
    """moto's ExecutionState._evaluate_with_timeout; only the wait for the state is scaled."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
    from moto.stepfunctions.parser.utils import TMP_THREADS

    self.timeout.eval(env=env)
    timeout_seconds = env.stack.pop()

    frame = env.open_frame()
    frame.states.reset(input_value=env.states.get_input())
    frame.stack = copy.deepcopy(env.stack)
    execution_outputs: list[Any] = []
    execution_exceptions: list[Exception | None] = [None]
    terminated_event = threading.Event()

    def _exec_and_notify() -> None:
        try:
            self._eval_execution(frame)
            execution_outputs.extend(frame.stack)
        except Exception as ex:  # noqa: BLE001 - handed to the caller below, as moto does
            execution_exceptions.append(ex)
        terminated_event.set()

    thread = threading.Thread(target=_exec_and_notify, daemon=True)
    TMP_THREADS.append(thread)
    thread.start()

    finished_on_time = _wait_for_task(terminated_event, timeout_seconds)
    frame.set_ended()
    env.close_frame(frame)

    execution_exception = execution_exceptions.pop()
    if not finished_on_time:
        callbacks.close_task_of(env)  # its token is now the token of an ended task
    if execution_exception:
        raise execution_exception
    if not finished_on_time:
        raise EvalTimeoutError()

    execution_output = execution_outputs.pop()
    env.stack.append(execution_output)
    if not self._is_language_query_jsonpath():
        env.states.set_result(execution_output)
    if self.assign_decl:
        self.assign_decl.eval(env=env)
    if self.result_selector:
        self.result_selector.eval(env=env)
    if self.result_path:
        self.result_path.eval(env)
    else:
        env.states.reset(input_value=env.stack.pop())


def _program_eval(self: Any, env: Any) -> None:
    """moto's Program.eval with the state machine's TimeoutSeconds scaled."""
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.utils import TMP_THREADS

    timeout = self.timeout_seconds.timeout_seconds if self.timeout_seconds else None
    env.next_state_name = self.start_at.start_at_name
    worker = threading.Thread(target=super(Program, self).eval, args=(env,), daemon=True)
    TMP_THREADS.append(worker)
    worker.start()
    worker.join(timeout=deadline(timeout))
    if worker.is_alive():
        env.set_timed_out()


def _callback_wait(self: Any, timeout: float | None = None) -> Any:
    _wait_for_task(self._notify_event, timeout)
    return self._outcome


def _heartbeat_clear_and_wait(self: Any) -> bool:
    with self._mutex:
        if self._next_heartbeat_event.is_set():
            self._next_heartbeat_event.clear()
            return True
    return _wait_for_task(self._next_heartbeat_event, self._heartbeat_seconds)


def _activity_start_wait(self: Any, timeout_seconds: float) -> Any:
    self._next_activity_task_start_event.wait(timeout=deadline(timeout_seconds))
    return self._outcome


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback_module,
    )

    if not hasattr(callback_module, "_DELAY_SECONDS_SYNC_CONDITION_CHECK"):
        raise RuntimeError("moto's .sync polling interval moved: review tapcase/localcloud/sfn/deadlines.py")
    install(TASK_TIMEOUT, _evaluate_with_timeout)
    install(EXECUTION_TIMEOUT, _program_eval)
    install(CALLBACK_WAIT, _callback_wait)
    install(HEARTBEAT_WAIT, _heartbeat_clear_and_wait)
    install(ACTIVITY_WAIT, _activity_start_wait)
    install(SYNC_POLLING, SYNC_POLL_SECONDS)
