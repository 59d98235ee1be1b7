"""What Athena refuses, and what the local engine cannot run faithfully: typed errors."""

from __future__ import annotations

#: ``(database, table)``, both lower case, as Glue stores them.
TableName = tuple[str, str]


class AthenaSqlError(ValueError):
    """A query that Athena would refuse, or that the local engine cannot run faithfully."""


class AthenaSyntaxError(AthenaSqlError):
    """The query does not parse as Athena SQL."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class UnsupportedAthenaSql(AthenaSqlError):
    """Valid Athena SQL that DuckDB cannot run with Athena's meaning: fail loudly, never differ."""

    def __init__(self, construct: str, detail: str) -> None:
        super().__init__(f"{construct}: {detail}")
        self.construct = construct


class PartitionConstraintViolation(AthenaSqlError):
    """Athena's refusal of a query that does not pin an ``injected`` partition column.

    The text is Athena's, from the "Dynamic ID partitioning" page of the Athena user guide
    (docs.aws.amazon.com/athena/latest/ug/partition-projection-dynamic-id-partitioning.html), with
    the column name filled in. An older wording ("Injected projected partition column … must have
    only (and at least one) equality conditions in the WHERE clause!") is still quoted on the China
    regions' copy of that page.
    """

    def __init__(self, column: str, table: TableName) -> None:
        self.column = column
        self.table = table
        super().__init__(
            f"CONSTRAINT_VIOLATION: For the injected projected partition column {column}, "
            "the WHERE clause must contain only static equality conditions, "
            "and at least one such condition must be present."
        )
