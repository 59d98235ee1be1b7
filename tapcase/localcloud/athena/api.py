"""moto's Athena API made to run queries: Start/Get/StopQueryExecution and GetQueryResults.

moto 5.2.5's Athena never executes SQL: its executions succeed at once with canned results. Here
``StartQueryExecution`` runs the query synchronously on the local engine (the state is final when
the call returns), with the workgroup's result configuration (``EnforceWorkGroupConfiguration``)
and ``ClientRequestToken`` idempotency; ``GetQueryExecution`` reports SUCCEEDED, FAILED (with
``StateChangeReason`` and ``AthenaError``) or CANCELLED, with ``Statistics``; ``GetQueryResults``
answers Athena's shape (header row first, ``ColumnInfo``, ``NextToken`` pages of at most 1000
rows). API errors are ``InvalidRequestException`` (with ``AthenaErrorCode`` where Athena sets one).
Workgroups, named queries, ListQueryExecutions and the rest are moto's own.

Query history as Athena keeps it: an execution is found for 45 days ("Athena keeps a query
history for 45 days", ListQueryExecutions API reference) on the local cloud's clock
(:func:`tapcase.localcloud.timescale.now`), then forgotten (``InvalidRequestException``). The memory
of a long-running local cloud stays bounded another way: only the newest
:func:`max_results_in_memory` executions (``TAPCASE_MAX_QUERY_RESULTS_IN_MEMORY``, default 500)
keep their result rows in memory; an older one's GetQueryResults reads them back from its result
file in the output location, where Athena itself reads them. (A bound on the history itself forgot
queries of running investigations before their reports read them: 23 of 50 at once failed.)
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import threading
from typing import Any, Final

from tapcase.localcloud import local_work, timescale
from tapcase.localcloud.athena.catalog import MOTO_GLUE
from tapcase.localcloud.athena.executions import execute, local_execution, query_execution_description
from tapcase.localcloud.athena.results import ColumnMeta, from_csv
from tapcase.localcloud.athena.storage import MOTO_S3, S3Object, S3Store, split_s3_url
from tapcase.localcloud.patching import Patch, install

#: Query executions whose result rows stay in memory, per account and region, unless
#: ``TAPCASE_MAX_QUERY_RESULTS_IN_MEMORY`` says otherwise.
DEFAULT_MAX_RESULTS_IN_MEMORY = 500
#: How long Athena keeps a query execution (seconds of the local cloud's clock).
QUERY_HISTORY_SECONDS = 45 * 86400
_retention_lock = threading.Lock()


def max_results_in_memory() -> int:
    return int(os.environ.get("TAPCASE_MAX_QUERY_RESULTS_IN_MEMORY") or DEFAULT_MAX_RESULTS_IN_MEMORY)


def _started_on_clock(backend: Any) -> dict[str, float]:
    """Query execution id -> the local clock when it started, per account and region."""
    started: dict[str, float] = backend.__dict__.setdefault("_tapcase_started_on_clock", {})
    return started


def keep_history_bounded(backend: Any, tokens: dict[str, str]) -> None:
    """Forgets executions older than 45 days (and their request tokens); releases the result rows
    of all but the newest :func:`max_results_in_memory` (see the module docstring)."""
    executions: dict[str, Any] = backend.executions
    started = _started_on_clock(backend)
    with _retention_lock:
        too_old = timescale.now() - QUERY_HISTORY_SECONDS
        for query_id in [q for q, at in started.items() if at < too_old]:
            executions.pop(query_id, None)
            started.pop(query_id, None)
        kept = set(executions)
        for token in [t for t, query_id in list(tokens.items()) if query_id not in kept]:
            tokens.pop(token, None)
        excess = len(executions) - max_results_in_memory()
        for query_id in list(executions)[: max(0, excess)]:  # dicts keep insertion order: oldest first
            local = local_execution(executions[query_id])
            if local is not None and local.result is not None and local.result.rows:
                local.result = dataclasses.replace(local.result, rows=[], rows_released=True)


def _rows(backend: Any, local: Any) -> list[list[str | None]]:
    """An execution's result rows: in memory, or read back from its result file."""
    if not local.result.rows_released:
        return list(local.result.rows)
    store = S3Store(backend.account_id, backend.region_name)
    bucket, key = split_s3_url(local.output_location)
    return from_csv(store.read(S3Object(bucket, key, 0)))


_RESPONSE = "moto.athena.responses:AthenaResponse"
_MODELS = "moto.athena.models"

START = Patch(
    target=f"{_RESPONSE}.start_query_execution",
    fixes="StartQueryExecution runs the SQL on DuckDB over the Glue tables' S3 data and ends it as Athena would",
    relies_on="AthenaResponse.athena_backend (work_groups, executions by id); Execution(query, context, config, "
    "workgroup, execution_parameters) appends <id>.csv to OutputLocation; moto's Glue and S3 backends",
    watch={
        f"{_RESPONSE}.start_query_execution": "8d3324e2ed77",
        f"{_RESPONSE}.athena_backend.fget": "60e94f9a013d",
        f"{_MODELS}:AthenaBackend.__init__": "14e7f31ae6a7",
        f"{_MODELS}:WorkGroup.__init__": "90a8f228b502",
        f"{_MODELS}:Execution.__init__": "c2601c336ae3",
        **MOTO_GLUE,
        **MOTO_S3,
    },
)
GET = Patch(
    target=f"{_RESPONSE}.get_query_execution",
    fixes="GetQueryExecution reports the query's real state, reason, AthenaError and Statistics; unknown ids refused",
    relies_on="executions live in athena_backend.executions by id (moto advanced its own states, KeyError if unknown)",
    watch={f"{_RESPONSE}.get_query_execution": "18aaaa0f76fb"},
)
RESULTS = Patch(
    target=f"{_RESPONSE}.get_query_results",
    fixes="GetQueryResults answers the query's rows (header row, Athena's ColumnInfo, NextToken pages of 1000)",
    relies_on="moto answered queued canned rows; a handler's (body, {'status': 400}) return is sent as the error, "
    "as moto's own AthenaResponse.error does",
    watch={f"{_RESPONSE}.get_query_results": "3d9348b2e67c", f"{_RESPONSE}.error": "ea053ee38f72"},
)
STOP = Patch(
    target=f"{_RESPONSE}.stop_query_execution",
    fixes="StopQueryExecution of an ended query changes nothing; an unknown id is InvalidRequestException",
    relies_on="moto's backend.stop_query_execution marked any execution CANCELLED (and failed on unknown ids)",
    watch={f"{_RESPONSE}.stop_query_execution": "6da48595c70d"},
)

NO_OUTPUT_LOCATION: Final[str] = (
    "No output location provided. An output location is required either through the Workgroup "
    "result configuration setting or as an API input."
)
MAX_RESULTS: Final[int] = 1000


def _error(message: str, athena_error_code: str | None = None) -> tuple[str, dict[str, int]]:
    body: dict[str, Any] = {"__type": "InvalidRequestException", "Message": message}
    if athena_error_code:
        body["AthenaErrorCode"] = athena_error_code
    return json.dumps(body), {"status": 400}


def _result_rows(columns: list[ColumnMeta], rows: list[list[str | None]]) -> list[dict[str, Any]]:
    header = [{"Data": [{"VarCharValue": c.name} for c in columns]}]
    data = [{"Data": [{"VarCharValue": v} if v is not None else {} for v in row]} for row in rows]
    return header + data


def _encode_token(execution_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"q": execution_id, "o": offset}).encode()).decode()


def _decode_token(token: str, execution_id: str) -> int | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(decoded, dict) or decoded.get("q") != execution_id or not isinstance(decoded.get("o"), int):
        return None
    return int(decoded["o"])


def start_query_execution(self: Any) -> str | tuple[str, dict[str, int]]:
    from moto.athena.models import Execution

    backend = self.athena_backend
    query = self._get_param("QueryString")
    context = self._get_param("QueryExecutionContext") or {}
    requested = dict(self._get_param("ResultConfiguration") or {})
    workgroup_name = self._get_param("WorkGroup") or "primary"
    parameters = self._get_param("ExecutionParameters")
    token = self._get_param("ClientRequestToken")

    if not query:
        return _error("QueryString must not be empty")
    workgroup = backend.work_groups.get(workgroup_name)
    if workgroup is None:
        return _error("WorkGroup does not exist")
    tokens: dict[str, str] = backend.__dict__.setdefault("_tapcase_request_tokens", {})
    if token and token in tokens:
        return json.dumps({"QueryExecutionId": tokens[token]})

    configuration = workgroup.configuration or {}
    enforced = dict(configuration.get("ResultConfiguration") or {})
    if configuration.get("EnforceWorkGroupConfiguration") and enforced.get("OutputLocation"):
        effective = {**requested, **enforced}
    else:
        effective = {**enforced, **requested}
    if not effective.get("OutputLocation"):
        return _error(NO_OUTPUT_LOCATION)
    if not str(effective["OutputLocation"]).lower().startswith("s3://"):
        return _error(f"Invalid OutputLocation: {effective['OutputLocation']}")

    execution = Execution(
        query=query,
        context=context,  # type: ignore[arg-type]  # a dict, as moto's own handler passes it
        config=effective,
        workgroup=workgroup,
        execution_parameters=parameters,
    )
    backend.executions[execution.id] = execution
    _started_on_clock(backend)[execution.id] = timescale.now()
    if token:
        tokens[token] = execution.id
    keep_history_bounded(backend, tokens)
    with local_work.computing("athena"):  # workflow deadlines do not count it
        execute(backend, execution, workgroup)
    return json.dumps({"QueryExecutionId": execution.id})


def get_query_execution(self: Any) -> str | tuple[str, dict[str, int]]:
    execution_id = self._get_param("QueryExecutionId")
    execution = self.athena_backend.executions.get(execution_id)
    if execution is None:
        return _error(f"QueryExecution {execution_id} was not found")
    return json.dumps({"QueryExecution": query_execution_description(execution)})


def get_query_results(self: Any) -> str | tuple[str, dict[str, int]]:
    execution_id = self._get_param("QueryExecutionId")
    max_results = self._get_param("MaxResults")
    next_token = self._get_param("NextToken")
    execution = self.athena_backend.executions.get(execution_id)
    if execution is None:
        return _error(f"QueryExecution {execution_id} was not found")
    local = local_execution(execution)
    if local is None:
        return _error(f"QueryExecution {execution_id} was not run by the local engine")
    if local.state in ("QUEUED", "RUNNING"):
        return _error(f"Query has not yet finished. Current state: {local.state}", "INVALID_QUERY_EXECUTION_STATE")
    if local.state != "SUCCEEDED" or local.result is None:
        return _error(
            f"Query did not finish successfully. Final query state: {local.state}", "INVALID_QUERY_EXECUTION_STATE"
        )
    limit = MAX_RESULTS if max_results is None else int(max_results)
    if not 1 <= limit <= MAX_RESULTS:
        return _error(f"MaxResults must be between 1 and {MAX_RESULTS}")
    offset = 0
    if next_token:
        decoded = _decode_token(next_token, execution_id)
        if decoded is None:
            return _error("The NextToken is invalid")
        offset = decoded
    rows = _result_rows(local.result.columns, _rows(self.athena_backend, local))
    response: dict[str, Any] = {
        "UpdateCount": 0,
        "ResultSet": {
            "Rows": rows[offset : offset + limit],
            "ResultSetMetadata": {"ColumnInfo": [c.column_info() for c in local.result.columns]},
        },
    }
    if offset + limit < len(rows):
        response["NextToken"] = _encode_token(execution_id, offset + limit)
    return json.dumps(response)


def stop_query_execution(self: Any) -> str | tuple[str, dict[str, int]]:
    execution_id = self._get_param("QueryExecutionId")
    execution = self.athena_backend.executions.get(execution_id)
    if execution is None:
        return _error(f"QueryExecution {execution_id} was not found")
    local = local_execution(execution)
    # Stopping a query that has already ended changes nothing (queries here end in StartQueryExecution).
    if local is not None and local.state in ("QUEUED", "RUNNING"):
        local.state = "CANCELLED"
        execution.status = "CANCELLED"
    return "{}"


def apply() -> None:
    install(START, start_query_execution)
    install(GET, get_query_execution)
    install(RESULTS, get_query_results)
    install(STOP, stop_query_execution)
