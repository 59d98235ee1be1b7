"""The curated data lake: one schema source and the Parquet curation (DuckDB views: ``tapcase.lake_views``).

* :mod:`.schema` - tables, columns and types (drives Parquet, Glue and the DuckDB views);
* :mod:`.curate` - raw Zeek/Suricata logs -> Parquet (ZSTD), streaming, in bounded memory:
  :mod:`.convert` (one file: natively with Arrow, the Python way where Arrow cannot be exact),
  :mod:`.blocks` (files in blocks of whole lines), :mod:`.native` and :mod:`.arrow_conform`
  (vectorised Zeek/EVE normalisation), :mod:`.writer` (Arrow types, coercion, Parquet writers).
"""
