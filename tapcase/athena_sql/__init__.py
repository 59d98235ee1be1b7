"""Athena (Trino) SQL, run on DuckDB with Athena's semantics.

sqlglot transpiles most of the Athena query language to DuckDB correctly. A few functions have the
same name on both engines and silently return something else; they are corrected here:

=================================  ==============================  ===================================
Athena (Trino)                     DuckDB as sqlglot writes it      Correction
=================================  ==============================  ===================================
``date_diff(unit, a, b)``          counts unit *boundaries*         ``date_sub(unit, a, b)`` (complete
                                                                    units, as Trino counts)
``slice(arr, start, length)``      ``length`` read as an end index  ``is_length`` slice (sqlglot #8040)
``regexp_extract`` without match   ``''``                           ``NULL`` (``null_if_no_match``)
``regexp_replace(s, p, '$1')``     ``$1`` is literal text           ``\\1`` (RE2 rewrite syntax)
``a / b`` on integers              float division                   integer division, when the operand
                                                                    types are known (literals always;
                                                                    columns with ``schema``)
=================================  ==============================  ===================================

Constructs DuckDB cannot run with Athena's meaning raise :class:`UnsupportedAthenaSql` instead of
running differently: ``IPADDRESS``/``IPPREFIX`` and ``contains(cidr, ip)``, ``url_extract_*``,
``format_datetime``/``parse_datetime`` (Joda patterns), ``reduce`` with a finishing function other
than the identity, a ``regexp_replace`` replacement that is not a literal, and anything else sqlglot
itself reports as unsupported for DuckDB.

:func:`partition_predicates` reproduces Athena's refusal of a query on a table whose partition
column is projected with type ``injected`` when the query does not pin that column to static values
(``CONSTRAINT_VIOLATION``).

Modules: :mod:`.parsing` (one statement, its parameters, the tables it reads), :mod:`.transpile`
(the DuckDB SQL and its corrections), :mod:`.projection` (injected partition projection),
:mod:`.errors` (the typed refusals). Everything is importable from this package.
"""


from tapcase.athena_sql.errors import (
    AthenaSqlError,
    AthenaSyntaxError,
    PartitionConstraintViolation,
    TableName,
    UnsupportedAthenaSql,
)
from tapcase.athena_sql.parsing import (
    DEFAULT_CATALOG,
    READ_DIALECT,
    TableReference,
    is_query,
    output_column_names,
    parse,
    substitute_parameters,
    table_references,
)
from tapcase.athena_sql.projection import injected_projection_columns, partition_predicates
from tapcase.athena_sql.transpile import (
    DuckDBForAthena,
    Schema,
    java_replacement_to_re2,
    name_unnamed_columns,
    static_value_sql,
    to_duckdb,
    to_duckdb_expression,
)

__all__ = [
    "DEFAULT_CATALOG",
    "READ_DIALECT",
    "AthenaSqlError",
    "AthenaSyntaxError",
    "DuckDBForAthena",
    "PartitionConstraintViolation",
    "Schema",
    "TableName",
    "TableReference",
    "UnsupportedAthenaSql",
    "injected_projection_columns",
    "is_query",
    "java_replacement_to_re2",
    "name_unnamed_columns",
    "output_column_names",
    "parse",
    "partition_predicates",
    "static_value_sql",
    "substitute_parameters",
    "table_references",
    "to_duckdb",
    "to_duckdb_expression",
]
