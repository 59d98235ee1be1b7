"""Security Hub ``BatchUpdateFindings`` (moto 5.2.5 has none), answering and failing as AWS does.

WriteReport adds a note to the GuardDuty finding in Security Hub. The local cloud answers as the
Security Hub API reference describes ``BatchUpdateFindings``:

* ``PATCH /findings/batchupdate`` with ``FindingIdentifiers`` (``Id``, ``ProductArn``; 1 to 100 of
  them) and the fields to update (``Note`` with ``Text`` of 1 to 512 characters and ``UpdatedBy``;
  ``Workflow``, ``VerificationState``, ``UserDefinedFields``, ``Confidence``, ``Criticality``,
  ``Types``, ``Severity``, ``RelatedFindings`` are stored as given);
* an account that did not enable Security Hub gets ``InvalidAccessException`` (moto's own message
  for its other operations: "Account is not subscribed to AWS Security Hub");
* a malformed request ``InvalidInputException``; a finding that is not there comes back in
  ``UnprocessedFindings`` with ``ErrorCode`` ``FindingNotFound`` ("Finding Not Found"), a repeated
  identifier with ``DuplicatedFindingIdentifier`` ("Finding Identifier is duplicated")
  (BatchUpdateFindingsUnprocessedFinding); the others in ``ProcessedFindings``.

Relies on moto's Security Hub backend keeping findings as ``Finding`` objects (``id``, ``data``:
the ASFF document) in ``SecurityHubBackend.findings`` with ``enabled`` set by EnableSecurityHub,
and on its URL table (``moto.securityhub.urls.url_paths``) being read when the server app is made.
"""

from __future__ import annotations

import datetime
import json
import threading
from typing import Any

from tapcase.localcloud import patching

MAX_IDENTIFIERS = 100
MAX_NOTE_TEXT = 512
UPDATABLE = ("Confidence", "Criticality", "Note", "RelatedFindings", "Severity", "Types", "UserDefinedFields",
             "VerificationState", "Workflow")

URL_PATHS = patching.Patch(
    target="moto.securityhub.urls:url_paths",
    fixes="routes PATCH /findings/batchupdate (BatchUpdateFindings) to the Security Hub responses",
    relies_on="moto reads url_paths when it builds the service's app; dispatch picks the method by operation",
    watch={"moto.securityhub.urls:url_paths": "cd9ad953bcfd"},
)
BACKEND = patching.Patch(
    target="moto.securityhub.models:SecurityHubBackend.batch_update_findings",
    fixes="BatchUpdateFindings: notes and workflow fields on findings, AWS's errors and unprocessed findings",
    relies_on="SecurityHubBackend.findings holds Finding(id, data) and .enabled is set by EnableSecurityHub",
    watch={
        "moto.securityhub.models:SecurityHubBackend.batch_import_findings": "9a87b1bf626e",
        "moto.securityhub.models:SecurityHubBackend.describe_hub": "cce60c47a020",
    },
    adds=True,
)
RESPONSE = patching.Patch(
    target="moto.securityhub.responses:SecurityHubResponse.batch_update_findings",
    fixes="BatchUpdateFindings answered in the REST-JSON shape (ProcessedFindings, UnprocessedFindings)",
    relies_on="SecurityHubResponse.body is the JSON request and its securityhub_backend the region's backend",
    watch={"moto.securityhub.responses:SecurityHubResponse.batch_import_findings": "340a1f1ab6fb"},
    adds=True,
)
PATCHES = (URL_PATHS, BACKEND, RESPONSE)

_lock = threading.Lock()
_applied = False


def _invalid_input(message: str) -> Exception:
    from moto.securityhub.exceptions import InvalidInputException

    return InvalidInputException(op="BatchUpdateFindings", msg=message)


def batch_update_findings(self: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The backend operation (see the module docstring)."""
    from moto.securityhub.exceptions import SecurityHubClientError

    if not self.enabled:
        raise SecurityHubClientError("InvalidAccessException", "Account is not subscribed to AWS Security Hub")
    identifiers = request.get("FindingIdentifiers")
    if not isinstance(identifiers, list) or not 1 <= len(identifiers) <= MAX_IDENTIFIERS:
        raise _invalid_input(f"FindingIdentifiers must hold 1 to {MAX_IDENTIFIERS} findings")
    note = request.get("Note")
    if note is not None:
        text, by = note.get("Text"), note.get("UpdatedBy")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_NOTE_TEXT or not text.strip():
            raise _invalid_input(f"Note.Text must be 1 to {MAX_NOTE_TEXT} characters")
        if not isinstance(by, str) or not by.strip():
            raise _invalid_input("Note.UpdatedBy is required")
    updates = {k: request[k] for k in UPDATABLE if k in request}
    if not updates:
        raise _invalid_input("at least one field to update is required")
    processed: list[dict[str, str]] = []
    unprocessed: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for identifier in identifiers:
        key = (str(identifier.get("Id")), str(identifier.get("ProductArn")))
        if key in seen:
            unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": "DuplicatedFindingIdentifier",
                                "ErrorMessage": "Finding Identifier is duplicated"})
            continue
        seen.add(key)
        finding = next((f for f in self.findings if f.id == key[0] and f.data.get("ProductArn") == key[1]), None)
        if finding is None:
            unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": "FindingNotFound",
                                "ErrorMessage": "Finding Not Found"})
            continue
        for field, value in updates.items():
            finding.data[field] = {**value, "UpdatedAt": now} if field == "Note" else value
        processed.append({"Id": key[0], "ProductArn": key[1]})
    return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}


def batch_update_findings_response(self: Any) -> str:
    body = self.body.decode("utf-8") if isinstance(self.body, bytes) else self.body
    try:
        request = json.loads(body or "{}")
    except ValueError:
        raise _invalid_input("the request body is not JSON") from None
    return json.dumps(self.securityhub_backend.batch_update_findings(request))


def apply() -> None:
    """Add BatchUpdateFindings to moto's Security Hub in this process (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        import moto.securityhub.urls as urls
        from moto.securityhub.responses import SecurityHubResponse

        stale = {p.target: patching.stale_watches(p) for p in PATCHES}
        if any(stale.values()):
            raise RuntimeError(f"tapcase's Security Hub addition does not fit moto: {stale}")
        paths = dict(urls.url_paths)
        paths["{0}/findings/batchupdate$"] = SecurityHubResponse.dispatch
        patching.install(URL_PATHS, paths)
        patching.install(BACKEND, batch_update_findings)
        patching.install(RESPONSE, batch_update_findings_response)
        _applied = True
