"""Athena on the local cloud: queries really run, on an embedded DuckDB, over the local S3.

moto 5.2.5's Athena never executes SQL (it answers canned results) and its Step Functions
interpreter refuses ``arn:aws:states:::athena:startQueryExecution.sync``. This package fixes both,
one concern per module:

- the Glue catalog view -- :mod:`.catalog` (tables: columns, ``PartitionKeys``, SerDe,
  ``Parameters``), :mod:`.partitions` (which objects a query reads: partition projection, an
  ``injected`` column only where the query pins it, or the partitions registered in Glue),
  :mod:`.storage` (the local S3, read and written in process);
- the SQL engine -- :mod:`.engine` (the query transpiled by :mod:`tapcase.athena_sql`, tables
  resolved, the bytes-scanned cutoff, DuckDB's refusals in Trino's words), :mod:`.views` (each
  Glue table a DuckDB view over its objects), :mod:`.results` (Athena's types, values and CSV),
  :mod:`.failures` (how a query ends FAILED or CANCELLED);
- the Athena API -- :mod:`.executions` (a query execution run and described as Athena does),
  :mod:`.api` (moto's Start/Get/StopQueryExecution and GetQueryResults replaced);
- the Step Functions integration -- :mod:`.stepfunctions` (``athena:startQueryExecution.sync``
  and the request-response actions).

Every replacement in moto is a :class:`tapcase.localcloud.patching.Patch` record (in :mod:`.api`
and :mod:`.stepfunctions`) saying what it fixes and which moto behaviour it relies on, with the
fingerprints of that moto code; ``tests/localcloud/test_moto_patches.py`` fails when it changes.

What cannot be reproduced: Athena's exact bytes-scanned figures (Parquet column pruning), Athena
being stricter than DuckDB on SQL it accepts, IAM. See :mod:`tapcase.athena_sql` for the SQL gaps.
"""

from __future__ import annotations

import threading
from typing import Final

from tapcase.localcloud import patching
from tapcase.localcloud.athena import api, stepfunctions
from tapcase.localcloud.athena.api import MAX_RESULTS, NO_OUTPUT_LOCATION
from tapcase.localcloud.athena.catalog import CatalogTable, GlueCatalog
from tapcase.localcloud.athena.engine import run_query
from tapcase.localcloud.athena.executions import ENGINE_VERSION, LocalExecution, execute, query_execution_description
from tapcase.localcloud.athena.failures import (
    BYTES_SCANNED_LIMIT_REASON,
    INTERNAL_ERROR_TYPE,
    SYSTEM_ERROR_CATEGORY,
    USER_ERROR_CATEGORY,
    USER_ERROR_TYPE,
    QueryFailure,
)
from tapcase.localcloud.athena.partitions import TablePartition, table_partitions
from tapcase.localcloud.athena.results import ColumnMeta, QueryResult, athena_column, format_value, java_double, to_csv
from tapcase.localcloud.athena.stepfunctions import state_task_service_class, to_sfn_json
from tapcase.localcloud.athena.storage import S3Object, S3Store, split_s3_url
from tapcase.localcloud.athena.views import duckdb_type
from tapcase.localcloud.moto_version import PINNED_MOTO_VERSION, installed_moto_version

__all__ = [
    "BYTES_SCANNED_LIMIT_REASON",
    "ENGINE_VERSION",
    "INTERNAL_ERROR_TYPE",
    "MAX_RESULTS",
    "NO_OUTPUT_LOCATION",
    "PATCHES",
    "SYSTEM_ERROR_CATEGORY",
    "USER_ERROR_CATEGORY",
    "USER_ERROR_TYPE",
    "CatalogTable",
    "ColumnMeta",
    "GlueCatalog",
    "LocalExecution",
    "QueryFailure",
    "QueryResult",
    "S3Object",
    "S3Store",
    "TablePartition",
    "apply",
    "athena_column",
    "check_moto_internals",
    "duckdb_type",
    "execute",
    "format_value",
    "java_double",
    "query_execution_description",
    "run_query",
    "split_s3_url",
    "state_task_service_class",
    "table_partitions",
    "to_csv",
    "to_sfn_json",
]

#: Every replacement this package makes in moto.
PATCHES: Final[tuple[patching.Patch, ...]] = (api.START, api.GET, api.RESULTS, api.STOP, stepfunctions.INTEGRATION)

#: The StartQueryExecution handler installed in moto (the name tests/localcloud/test_athena.py checks).
_start_query_execution = api.start_query_execution

_applied = False
_apply_lock = threading.Lock()


def check_moto_internals() -> list[str]:
    """What this package relies on in moto and found changed; an empty list when all is as recorded."""
    problems: list[str] = []
    found = installed_moto_version()
    if found != PINNED_MOTO_VERSION:
        problems.append(f"moto {found} installed, the patch was written for {PINNED_MOTO_VERSION}")
    try:
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory
    except ImportError as exc:
        return problems + [f"import failed: {exc}"]
    if "athena" not in state_task_service_factory._UNSUPPORTED_SERVICE_NAMES:
        problems.append("moto's Step Functions now handles athena itself: drop tapcase's integration")
    for patch in PATCHES:
        try:
            changed = patching.stale_watches(patch)
        except (ImportError, AttributeError) as exc:
            problems.append(f"{patch.target}: moto code it relies on is gone ({exc})")
            continue
        problems.extend(
            f"{patch.target}: moto changed {reference} ({expected} -> {now}); review the fix: {patch.fixes}"
            for reference, (expected, now) in changed.items()
        )
    return problems


def apply() -> None:
    """Patch moto's Athena and Step Functions interpreter (idempotent)."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        problems = check_moto_internals()
        if problems:
            raise RuntimeError("tapcase's local Athena cannot patch this moto: " + "; ".join(problems))
        api.apply()
        stepfunctions.apply()
        _applied = True
