"""The Glue Data Catalog as the engine sees it: tables, their storage, partitions and projection.

Read from moto's in-process Glue backend (``databases`` → ``tables`` → ``FakeTable``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tapcase import athena_sql

#: The moto Glue code this module relies on, with its fingerprints (``tapcase.localcloud.patching``):
#: ``databases`` and their ``tables`` by name, ``FakeTable.as_dict()`` and ``partitions``
#: (``FakePartition.partition_input``). Watched by :data:`tapcase.localcloud.athena.api.START`.
MOTO_GLUE: Final[dict[str, str]] = {
    "moto.glue.models:GlueBackend.__init__": "20896ab26919",
    "moto.glue.models:FakeDatabase.__init__": "4bc6f4672ce2",
    "moto.glue.models:FakeTable.__init__": "6a12c6bbdb64",
    "moto.glue.models:FakeTable.as_dict": "350e95962453",
    "moto.glue.models:FakePartition.__init__": "89fc9b4c297d",
}


@dataclass(frozen=True)
class CatalogTable:
    """What the local engine needs of a Glue table."""

    database: str
    name: str
    columns: tuple[tuple[str, str], ...]
    partition_keys: tuple[tuple[str, str], ...]
    location: str
    parameters: Mapping[str, str]
    serde_library: str
    serde_parameters: Mapping[str, str]
    input_format: str
    registered_partitions: tuple[tuple[tuple[str, ...], str], ...]

    @classmethod
    def from_glue(cls, table: Any) -> CatalogTable:
        description = table.as_dict()
        storage = description.get("StorageDescriptor") or {}
        serde = storage.get("SerdeInfo") or {}
        partitions = []
        for partition in table.partitions.values():
            values = tuple(str(v) for v in partition.partition_input.get("Values", []))
            location = (partition.partition_input.get("StorageDescriptor") or {}).get("Location", "")
            partitions.append((values, location))
        return cls(
            database=str(description.get("DatabaseName", "")).lower(),
            name=str(description.get("Name", "")).lower(),
            columns=tuple((c["Name"].lower(), c.get("Type", "string")) for c in storage.get("Columns") or []),
            partition_keys=tuple(
                (c["Name"].lower(), c.get("Type", "string")) for c in description.get("PartitionKeys") or []
            ),
            location=storage.get("Location") or "",
            parameters={str(k): str(v) for k, v in (description.get("Parameters") or {}).items()},
            serde_library=serde.get("SerializationLibrary") or "",
            serde_parameters={str(k): str(v) for k, v in (serde.get("Parameters") or {}).items()},
            input_format=storage.get("InputFormat") or "",
            registered_partitions=tuple(partitions),
        )

    @property
    def qualified_name(self) -> str:
        return f"awsdatacatalog.{self.database}.{self.name}"

    @property
    def all_columns(self) -> tuple[tuple[str, str], ...]:
        """Data columns, then partition columns: the order Athena gives ``SELECT *``."""
        return self.columns + self.partition_keys

    @property
    def projection_enabled(self) -> bool:
        return self.parameters.get("projection.enabled", "").strip().lower() == "true"

    def projection(self, column: str, setting: str) -> str | None:
        return self.parameters.get(f"projection.{column}.{setting}")

    @property
    def injected_columns(self) -> list[str]:
        return athena_sql.injected_projection_columns(self.parameters, [k for k, _ in self.partition_keys])

    @property
    def storage_format(self) -> str:
        library = self.serde_library.lower()
        input_format = self.input_format.lower()
        classification = self.parameters.get("classification", "").lower()
        if "parquet" in library or "parquet" in input_format or classification == "parquet":
            return "parquet"
        if "json" in library or classification == "json":
            return "json"
        if "opencsvserde" in library:
            return "opencsv"
        if "lazysimpleserde" in library or classification in ("csv", "tsv"):
            return "text"
        if "orc" in library or "orc" in input_format:
            return "orc"
        return library or input_format or "unknown"


class GlueCatalog:
    """The Glue Data Catalog of the local cloud (moto's Glue backend), read directly."""

    def __init__(self, account_id: str, region: str) -> None:
        from moto.glue.models import glue_backends

        self._backend = glue_backends[account_id][region]

    def has_database(self, database: str) -> bool:
        return self._find(self._backend.databases, database) is not None

    def table(self, database: str, name: str) -> CatalogTable | None:
        db = self._find(self._backend.databases, database)
        if db is None:
            return None
        table = self._find(db.tables, name)
        return CatalogTable.from_glue(table) if table is not None else None

    @staticmethod
    def _find(items: Mapping[str, Any], name: str) -> Any | None:
        if name in items:
            return items[name]
        lowered = name.lower()
        return next((value for key, value in items.items() if key.lower() == lowered), None)
