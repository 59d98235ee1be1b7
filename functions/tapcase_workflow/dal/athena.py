"""Reading Athena query results."""

from __future__ import annotations

from typing import Any

from tapcase_workflow.dal.clients import client

_INTEGER = {"tinyint", "smallint", "integer", "int", "bigint"}
_FLOAT = {"double", "float", "real", "decimal"}


def _convert(value: str | None, athena_type: str) -> Any:
    if value is None:
        return None
    kind = athena_type.lower().split("(")[0]
    if kind in _INTEGER:
        return int(value)
    if kind in _FLOAT:
        return float(value)
    if kind == "boolean":
        return value.lower() == "true"
    return value


def query_results(query_execution_id: str, max_rows: int = 1000) -> dict[str, Any]:
    """``{"columns": [...], "rows": [[...], ...]}`` of a finished query (header row dropped)."""
    athena = client("athena")
    columns: list[str] = []
    types: list[str] = []
    rows: list[list[Any]] = []
    token: str | None = None
    first = True
    while len(rows) < max_rows:
        kwargs: dict[str, Any] = {"QueryExecutionId": query_execution_id, "MaxResults": 1000}
        if token:
            kwargs["NextToken"] = token
        page = athena.get_query_results(**kwargs)
        if first:
            info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
            columns = [c["Name"] for c in info]
            types = [c["Type"] for c in info]
        data = page["ResultSet"]["Rows"]
        if first and data and [d.get("VarCharValue") for d in data[0]["Data"]] == columns:
            data = data[1:]  # SELECT results start with a header row
        first = False
        for row in data:
            values = [d.get("VarCharValue") for d in row["Data"]]
            rows.append([_convert(v, t) for v, t in zip(values, types, strict=False)])
        token = page.get("NextToken")
        if not token:
            break
    return {"columns": columns, "rows": rows[:max_rows], "truncated": bool(token) or len(rows) > max_rows}
