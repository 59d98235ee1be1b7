"""The investigation id: one rule, and how any name becomes an id that follows it.

An id names the investigation's S3 prefix, its Athena partition (inlined into SQL as a literal),
its tags, its SQS queue, its security group and its client tokens. At most 48 characters, so the
names built from it stay within AWS's limits (SQS queue names 80, client tokens 64), lower-case
letters, digits and ``-`` (safe in a path, a tag and a SQL literal).
"""

from __future__ import annotations

import hashlib
import re

from tapcase_contract.errors import ContractError

#: The one definition of the rule (3 to 48 characters).
INVESTIGATION_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,47}$"
MIN_LENGTH = 3
MAX_LENGTH = 48
#: The rule in words, for error messages.
RULE = "3 to 48 characters: lower-case letters, digits and '-', starting with a letter or digit"
#: Ids that would collide with the bucket layout (``investigations/curated/`` holds the tables).
RESERVED = frozenset({"curated"})

_ID_RE = re.compile(INVESTIGATION_ID_PATTERN)
_DIGEST_LENGTH = 8


def is_investigation_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID_RE.match(value)) and value not in RESERVED


def check_investigation_id(value: object) -> str:
    """``value`` if it is a valid investigation id, else :class:`ContractError` saying the rule."""
    if not is_investigation_id(value):
        reserved = " (reserved)" if value in RESERVED else ""
        raise ContractError(f"invalid investigation id {value!r}{reserved}: use {RULE}")
    return str(value)


def _digest(name: str, length: int) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:length]


def investigation_id_from_name(name: str) -> str:
    """A valid id from any name (a folder, an execution name): the name itself if it is one.

    Otherwise lower-cased, each run of other characters made one ``-`` (``My Logs_2024`` ->
    ``my-logs-2024``). A longer result keeps its first 39 characters and ends with 8 hex digits of
    the whole name's sha256, so two long names that differ only at the end stay apart; a shorter
    one (or a reserved one) is prefixed with ``local-``.
    """
    if is_investigation_id(name):
        return name
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if len(slug) > MAX_LENGTH:
        keep = MAX_LENGTH - _DIGEST_LENGTH - 1
        slug = f"{slug[:keep].rstrip('-')}-{_digest(name, _DIGEST_LENGTH)}"
    if len(slug) < MIN_LENGTH or slug in RESERVED:
        slug = f"local-{slug}" if slug else "local-analysis"
    return check_investigation_id(slug)


def investigation_id_for_finding(finding_id: str) -> str:
    """Stable id per GuardDuty finding, so the finding's repeated events map to one investigation
    (``gd-`` and the finding id's first 45 letters and digits)."""
    cleaned = re.sub(r"[^a-z0-9]", "", finding_id.lower())
    if not cleaned:
        cleaned = _digest(finding_id, 64)
    return check_investigation_id(f"gd-{cleaned[:MAX_LENGTH - 3]}")


def investigation_id_for_execution(execution_name: str | None, instance_id: str) -> str:
    """Manual and scheduled runs are keyed by their execution name (unique per state machine): the
    name itself when it is a valid id once lower-cased, else ``run-`` and 16 hex digits of it."""
    if execution_name:
        candidate = execution_name.lower()
        if is_investigation_id(candidate):
            return candidate
        digest = _digest(execution_name, 16)
    else:
        digest = _digest(instance_id, 16)
    return check_investigation_id(f"run-{digest}")
