"""Task tokens: answering a ``.waitForTaskToken`` task as AWS lets its callers do.

- ``SendTaskFailure`` passes ``cause`` on (moto 5.2.5 dropped it).
"""

from __future__ import annotations

from typing import Any

from tapcase.localcloud.sfn.patching import Patch, install

SEND_TASK_FAILURE = Patch(
    target="moto.stepfunctions.responses:StepFunctionResponse.send_task_failure",
    fixes="SendTaskFailure keeps its cause (TaskFailed event, Catch output, DescribeExecution)",
    relies_on="the parser backend's send_task_failure(task_token, error=, cause=) takes the cause; "
    "moto's response handler only passed error",
    watch={
        "moto.stepfunctions.responses:StepFunctionResponse.send_task_failure": "f0fed5e80576",
        "moto.stepfunctions.parser.models:StepFunctionsParserBackend.send_task_failure": "2d5a9597cf1d",
    },
)


def send_task_failure(self: Any) -> Any:
    """moto's ``StepFunctionResponse.send_task_failure`` with the cause passed on."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    task_token = self._get_param("taskToken")
    error = self._get_param("error")
    cause = self._get_param("cause")
    backend = self.stepfunction_backend
    if isinstance(backend, StepFunctionsParserBackend):
        backend.send_task_failure(task_token, error=error, cause=cause)
    else:  # moto's own model (interpreter off) has no cause to keep
        backend.send_task_failure(task_token, error=error)
    return EmptyResult()


def apply() -> None:
    install(SEND_TASK_FAILURE, send_task_failure)
