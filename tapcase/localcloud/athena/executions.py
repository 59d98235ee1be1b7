"""One query execution on the local engine: run when it starts, described as GetQueryExecution does.

:func:`execute` runs a moto ``Execution`` through :func:`~.engine.run_query`, writes the result
CSV to ``<OutputLocation>/<QueryExecutionId>.csv`` (moto's ``Execution`` appends the file name)
and records the outcome on the execution (:class:`LocalExecution`, attribute ``tapcase``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

from tapcase import athena_sql
from tapcase.localcloud.athena.catalog import GlueCatalog
from tapcase.localcloud.athena.engine import run_query
from tapcase.localcloud.athena.failures import (
    INTERNAL_ERROR_TYPE,
    SYSTEM_ERROR_CATEGORY,
    USER_ERROR_CATEGORY,
    USER_ERROR_TYPE,
    QueryFailure,
)
from tapcase.localcloud.athena.results import QueryResult, to_csv
from tapcase.localcloud.athena.storage import S3Store

ENGINE_VERSION: Final[dict[str, str]] = {
    "SelectedEngineVersion": "AUTO",
    "EffectiveEngineVersion": "Athena engine version 3",
}
_DDL_PREFIXES: Final[tuple[str, ...]] = ("ALTER", "CREATE", "DESCRIBE", "DROP", "MSCK", "SHOW")


@dataclass
class LocalExecution:
    """What the local engine recorded for one query execution (kept on moto's Execution)."""

    state: str
    statement_type: str
    output_location: str
    submitted: float
    completed: float
    result: QueryResult | None = None
    reason: str | None = None
    error_category: int | None = None
    error_type: int | None = None
    data_scanned: int = 0
    planning_ms: int = 0
    engine_ms: int = 0



def local_execution(execution: Any) -> LocalExecution | None:
    """What the local engine recorded on a moto ``Execution`` (None if it never ran it)."""
    return getattr(execution, "tapcase", None)


def _statement_type(query: str) -> str:
    return "DDL" if query.lstrip().upper().startswith(_DDL_PREFIXES) else "DML"


def execute(backend: Any, execution: Any, workgroup: Any) -> LocalExecution:
    """Run a moto ``Execution`` on the local engine and record the outcome on it."""
    submitted = execution.start_time
    context = execution.context or {}
    output_location = (execution.config or {}).get("OutputLocation", "")
    local = LocalExecution(
        state="RUNNING",
        statement_type=_statement_type(execution.query),
        output_location=output_location,
        submitted=submitted,
        completed=submitted,
    )
    cutoff = (workgroup.configuration or {}).get("BytesScannedCutoffPerQuery") if workgroup else None
    store = S3Store(backend.account_id, backend.region_name)
    try:
        catalog_name = str(context.get("Catalog") or athena_sql.DEFAULT_CATALOG)
        if catalog_name.lower() != athena_sql.DEFAULT_CATALOG:
            raise QueryFailure(f"CATALOG_NOT_FOUND: Catalog '{catalog_name}' does not exist")
        result = run_query(
            execution.query,
            database=str(context.get("Database") or "default"),
            catalog=GlueCatalog(backend.account_id, backend.region_name),
            store=store,
            execution_parameters=execution.execution_parameters,
            bytes_scanned_cutoff=int(cutoff) if cutoff else None,
        )
        store.write(output_location, to_csv(result.columns, result.rows))
        local.result = result
        local.state = "SUCCEEDED"
        local.data_scanned = result.data_scanned
        local.planning_ms = result.planning_ms
        local.engine_ms = result.engine_ms
    except QueryFailure as failure:
        local.state = failure.state
        local.reason = failure.reason
        local.error_category = failure.category
        local.error_type = failure.error_type
        local.data_scanned = failure.data_scanned
    except Exception as exc:  # noqa: BLE001 - a defect of the local engine ends the query, visibly
        local.state = "FAILED"
        local.reason = f"GENERIC_INTERNAL_ERROR: local engine: {type(exc).__name__}: {exc}"
        local.error_category = SYSTEM_ERROR_CATEGORY
        local.error_type = INTERNAL_ERROR_TYPE
    local.completed = max(time.time(), submitted)
    execution.end_time = local.completed
    execution.status = local.state
    execution.tapcase = local
    return local


def query_execution_description(execution: Any) -> dict[str, Any]:
    """The ``QueryExecution`` object of GetQueryExecution, as Athena returns it."""
    local = local_execution(execution)
    state = local.state if local else execution.status
    status: dict[str, Any] = {
        "State": state,
        "SubmissionDateTime": execution.start_time,
    }
    if state not in ("QUEUED", "RUNNING"):
        status["CompletionDateTime"] = local.completed if local else execution.end_time
    if local and local.reason:
        status["StateChangeReason"] = local.reason
        status["AthenaError"] = {
            "ErrorCategory": local.error_category or USER_ERROR_CATEGORY,
            "ErrorType": local.error_type or USER_ERROR_TYPE,
            "Retryable": False,
            "ErrorMessage": local.reason,
        }
    total_ms = int(((local.completed - local.submitted) if local else 0) * 1000)
    engine_ms = local.engine_ms if local else 0
    planning_ms = local.planning_ms if local else 0
    description: dict[str, Any] = {
        "QueryExecutionId": execution.id,
        "Query": execution.query,
        "StatementType": local.statement_type if local else _statement_type(execution.query),
        "ResultConfiguration": dict(execution.config or {}),
        "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
        "QueryExecutionContext": dict(execution.context or {}),
        "Status": status,
        "Statistics": {
            "EngineExecutionTimeInMillis": engine_ms,
            "DataScannedInBytes": local.data_scanned if local else 0,
            "TotalExecutionTimeInMillis": max(total_ms, engine_ms),
            "QueryQueueTimeInMillis": 0,
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": planning_ms,
            "ServiceProcessingTimeInMillis": max(total_ms - engine_ms, 0),
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        },
        "WorkGroup": execution.workgroup.name if execution.workgroup else "primary",
        "EngineVersion": dict(ENGINE_VERSION),
    }
    if description["StatementType"] == "DML":
        description["SubstatementType"] = "SELECT"
    if execution.execution_parameters is not None:
        description["ExecutionParameters"] = execution.execution_parameters
    return description
