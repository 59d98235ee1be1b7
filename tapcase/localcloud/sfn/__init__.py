"""Step Functions on the local cloud: moto's ASL interpreter made to behave like AWS.

Each module holds one group of fixes to moto 5.2.5 (``moto/stepfunctions/``), every replacement
recorded as a :class:`tapcase.localcloud.patching.Patch` that says what it fixes and what moto
behaviour it relies on (``tests/localcloud/test_moto_patches.py`` fails when that moto code
changes):

- :mod:`.jsonpath` -- definite JSONPaths give values, indefinite ones lists (Jayway, as AWS).
- :mod:`.executions` -- StartExecution names and ``arn#TestCase``; DescribeExecution output.
- :mod:`.mockconfig` -- Step Functions Local's MockConfigFile (``SFN_MOCK_CONFIG``).
- :mod:`.aws_sdk` -- aws-sdk results as JSON, PascalCase parameters, AWS error names.
- :mod:`.nested` -- ``states:startExecution`` (nested workflows): PascalCase parameters and results.
- :mod:`.clients` -- one cached service client per service, on this cloud's port.
- :mod:`.requests` -- null parameters left unset; services refuse missing members as on AWS.
- :mod:`.callbacks` -- task tokens: SendTaskFailure's cause, InvalidOutput, TaskTimedOut.
- :mod:`.stopping` -- StopExecution aborts at once, even while a task waits for its token.
- :mod:`.delays`, :mod:`.deadlines` -- Wait/Retry and timeouts on the time scale, .sync polling.
- :mod:`.errors` -- States.Runtime uncatchable, States.* errors out of branches catchable,
  States.HeartbeatTimeout matching heartbeat timeouts.
- :mod:`.logs` -- moto's per-component error logging quiet unless ``TAPCASE_LOCAL_VERBOSE``.
- :mod:`.retention` -- a finished execution keeps its history and tokens, not its threads and
  environment; at most a configurable number of finished executions per state machine.

:func:`apply` runs once per process (``tapcase.localcloud.patches.apply_all`` calls it).
"""

from __future__ import annotations

import threading

from tapcase.localcloud.sfn import (
    aws_sdk,
    callbacks,
    clients,
    deadlines,
    delays,
    deleting,
    errors,
    executions,
    jsonpath,
    logs,
    mockconfig,
    nested,
    retention,
    stopping,
)
from tapcase.localcloud.sfn.aws_sdk import aws_sdk_json, sdk_service_error_name
from tapcase.localcloud.sfn.clients import boto_client_for
from tapcase.localcloud.sfn.deadlines import SYNC_POLL_SECONDS
from tapcase.localcloud.sfn.jsonpath import extract_json
from tapcase.localcloud.sfn.logs import VERBOSE_ENV
from tapcase.localcloud.sfn.mockconfig import MOCK_CONFIG_ENV, MockConfigError, load_mock_test_case

__all__ = [
    "MOCK_CONFIG_ENV",
    "SYNC_POLL_SECONDS",
    "VERBOSE_ENV",
    "MockConfigError",
    "apply",
    "aws_sdk_json",
    "boto_client_for",
    "extract_json",
    "load_mock_test_case",
    "sdk_service_error_name",
]

_apply_lock = threading.Lock()
_applied = False


def apply() -> None:
    """Patch moto's Step Functions in this process (idempotent)."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        jsonpath.apply()
        mockconfig.apply()
        executions.apply()
        aws_sdk.apply()
        nested.apply()
        callbacks.apply()
        stopping.apply()
        clients.apply()
        delays.apply()
        deadlines.apply()
        errors.apply()
        logs.apply()
        retention.apply()
        deleting.apply()
        _applied = True
