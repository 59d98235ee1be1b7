"""How a query execution ends when it does not succeed: Athena's error catalog and messages."""

from __future__ import annotations

from typing import Final

from sqlglot import exp

# Athena error catalog (docs.aws.amazon.com/athena/latest/ug/error-reference.html):
# ErrorCategory 1 SYSTEM, 2 USER; ErrorType 1000 "User error", 100 "Internal service error".
USER_ERROR_CATEGORY: Final[int] = 2
SYSTEM_ERROR_CATEGORY: Final[int] = 1
USER_ERROR_TYPE: Final[int] = 1000
INTERNAL_ERROR_TYPE: Final[int] = 100

#: Athena's reason for a query stopped by the workgroup's per-query cutoff. Observed on Athena
#: engine version 3 (reports of real runs): the query ends CANCELLED, not FAILED.
BYTES_SCANNED_LIMIT_REASON: Final[str] = "Bytes scanned limit was exceeded"


class QueryFailure(Exception):
    """Ends a query execution the way Athena would (FAILED, or CANCELLED for the scan cutoff)."""

    def __init__(
        self,
        reason: str,
        *,
        state: str = "FAILED",
        category: int = USER_ERROR_CATEGORY,
        error_type: int = USER_ERROR_TYPE,
        data_scanned: int = 0,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.state = state
        self.category = category
        self.error_type = error_type
        self.data_scanned = data_scanned


def position(sql: str, node: exp.Expr | None) -> str:
    """``line L:C`` of a parsed node, as Trino prefixes its messages."""
    if isinstance(node, exp.Table):
        identifier = node.args.get("catalog") or node.args.get("db") or node.this
    elif isinstance(node, exp.Column):
        identifier = node.args.get("table") or node.this
    else:
        identifier = node
    meta = getattr(identifier, "meta", None) or {}
    start = meta.get("start")
    if start is None:
        return "line 1:1"
    line = sql.count("\n", 0, start) + 1
    column = start - (sql.rfind("\n", 0, start) + 1) + 1
    return f"line {line}:{column}"
