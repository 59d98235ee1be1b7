"""The curated data lake: one schema source, Parquet curation, local DuckDB views.

* :mod:`.schema` - tables, columns and types (drives Parquet, Glue and the DuckDB views);
* :mod:`.curate` - raw Zeek/Suricata logs -> Parquet (ZSTD), streaming;
* :mod:`.views` - DuckDB views over the curated Parquet or over the raw JSON logs.
"""
