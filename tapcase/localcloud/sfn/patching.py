"""Moved to :mod:`tapcase.localcloud.patching` (shared by the Step Functions and Athena fixes);
kept so that ``from tapcase.localcloud.sfn.patching import Patch, install`` still works."""

from tapcase.localcloud.patching import (
    INSTALLED,
    ORIGINALS,
    REPLACEMENTS,
    Patch,
    fingerprint,
    install,
    print_fingerprints,
    records_of,
    resolve,
    stale_watches,
    unwrap,
    watched,
)

__all__ = [
    "INSTALLED",
    "ORIGINALS",
    "REPLACEMENTS",
    "Patch",
    "fingerprint",
    "install",
    "print_fingerprints",
    "records_of",
    "resolve",
    "stale_watches",
    "unwrap",
    "watched",
]
