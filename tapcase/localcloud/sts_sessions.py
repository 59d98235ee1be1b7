"""STS role sessions with session tags, and S3 requests signed by them judged by the role's policy.

moto 5.2.5 ignores AssumeRole's ``Tags``, accepts any ``DurationSeconds`` and lets every request
through S3 whatever credentials sign it. tapcase hands a sensor credentials of its
``EvidenceUploadRole`` session-tagged with the investigation id (``tapcase_contract.upload_access``),
whose policy names its resources with ``${aws:PrincipalTag/tapcase:investigation-id}``; a local
cloud that let those credentials write anywhere would pass what AWS refuses. So:

* AssumeRole keeps the session's tags ("Pass session tags in AWS STS": at most 50, keys up to 128
  and values up to 256 characters) and refuses a ``DurationSeconds`` below 900 or above the role's
  ``MaxSessionDuration`` (``ValidationError``, STS AssumeRole API reference), or above an hour when
  the caller is itself a role session (role chaining, :data:`ROLE_CHAINING_MESSAGE`). A caller the
  trust policy does not trust gets ``AccessDenied`` with HTTP 403, as STS answers it
  (:mod:`tapcase.localcloud.sts_trust`).
* An S3 request signed with such a session's access key is judged as IAM judges a role session's
  identity-based policy: allowed only when a statement of the role's policies allows the action on
  the resource, its policy variables (``${aws:PrincipalTag/key}``, ``${*}``, ``${?}``, ``${$}``)
  replaced by the request's values -- a variable without a value makes the statement match
  nothing ("IAM policy elements: Variables and tags") -- and no statement denies it
  (:mod:`tapcase.localcloud.identity_policies`); otherwise
  ``403 AccessDenied``. After the session's expiration: ``400 ExpiredToken`` ("The provided token
  has expired."). Requests signed with any other key are left as before (the local cloud
  supplies no other principal context).
* A session is forgotten an hour after it expired (its key then answers as an unknown one), and so
  is moto's record of it (``STSBackend.assumed_roles``, kept for ever by moto): a long-running
  local cloud does not grow with every investigation's upload credentials.
"""

from __future__ import annotations

import datetime
import re
import threading
from dataclasses import dataclass
from typing import Any

from tapcase.localcloud.identity_policies import evaluate, role_documents
from tapcase.localcloud.patching import Patch, install

ASSUME_ROLE_RESPONSE = Patch(
    target="moto.sts.responses:TokenResponse.assume_role",
    fixes="AssumeRole keeps session tags, refuses DurationSeconds outside 900..MaxSessionDuration or above an "
    "hour for a role session (ValidationError) and a role that does not exist or does not trust the caller "
    "(403 AccessDenied, tapcase.localcloud.sts_trust)",
    relies_on="TokenResponse reads its parameters with _get_param/_get_int_param (Tags: a list of Key/Value) "
    "and calls backend.assume_role; BaseResponse.call_action takes a (body, headers with status) answer",
    watch={"moto.sts.responses:TokenResponse.assume_role": "8e014e59789f"},
)
ASSUME_ROLE_BACKEND = Patch(
    target="moto.sts.models:STSBackend.assume_role",
    fixes="each tagged role session is recorded by its access key id (role, tags, expiration)",
    relies_on="STSBackend.assume_role returns an AssumedRole with access_key_id and expiration and appends it "
    "to the role account's backend's assumed_roles",
    watch={"moto.sts.models:STSBackend.assume_role": "f32a21bb2eb0"},
)
KEY_RESPONSE = Patch(
    target="moto.s3.responses:S3Response._key_response",
    fixes="object requests signed by a tagged role session are allowed only by the role's policy (403 "
    "AccessDenied), and refused once the session expired (400 ExpiredToken)",
    relies_on="key_response turns an S3ClientError raised by _key_response into its error answer",
    watch={"moto.s3.responses:S3Response._key_response": "eb67586ff76b",
           "moto.s3.responses:S3Response.key_response": "482dd528b49e"},
)
BUCKET_RESPONSE = Patch(
    target="moto.s3.responses:S3Response._bucket_response",
    fixes="bucket requests signed by a tagged role session are allowed only by the role's policy",
    relies_on="bucket_response turns an S3ClientError raised by _bucket_response into its error answer",
    watch={"moto.s3.responses:S3Response._bucket_response": "15b194a31b24"},
)
PATCHES = [ASSUME_ROLE_RESPONSE, ASSUME_ROLE_BACKEND, KEY_RESPONSE, BUCKET_RESPONSE]

MIN_DURATION = 900
#: "Role chaining limits your AWS CLI or AWS API role session to a maximum of one hour ... if you
#: assume a role using role chaining and provide a DurationSeconds parameter value greater than one
#: hour, the operation fails" (STS AssumeRole, DurationSeconds); the message STS answers with
#: (ValidationError, HTTP 400: AWS knowledge center "iam-role-chaining-limit").
ROLE_CHAINING_MAX = 3600
ROLE_CHAINING_MESSAGE = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
MAX_SESSION_TAGS = 50
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


@dataclass(frozen=True)
class RoleSession:
    role_arn: str
    account_id: str
    tags: dict[str, str]
    expiration: datetime.datetime


_sessions: dict[str, RoleSession] = {}
_pending = threading.local()
_lock = threading.Lock()
_applied = False


def session_of(access_key_id: str) -> RoleSession | None:
    """The tagged role session an access key belongs to (None: not one)."""
    with _lock:
        return _sessions.get(access_key_id)


#: How long after its expiration a session is still recognised (to answer ExpiredToken).
FORGET_AFTER = datetime.timedelta(hours=1)


def _long_expired(expiration: datetime.datetime, now: datetime.datetime) -> bool:
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=datetime.UTC)
    return expiration < now - FORGET_AFTER


def _record(access_key_id: str, session: RoleSession) -> None:
    now = datetime.datetime.now(datetime.UTC)
    with _lock:
        for key in [k for k, s in _sessions.items() if _long_expired(s.expiration, now)]:
            del _sessions[key]  # long expired: their requests answer as unknown keys would
        _sessions[access_key_id] = session


def sessions_held() -> int:
    """How many tagged sessions are remembered (``/_tapcase/holdings``)."""
    with _lock:
        return len(_sessions)


def _forget_expired_roles(backend: Any) -> None:
    """moto's list of every role session ever made, without the long-expired ones."""
    now = datetime.datetime.now(datetime.UTC)
    with _lock:
        backend.assumed_roles[:] = [r for r in backend.assumed_roles if not _long_expired(r.expiration, now)]


def _role_documents(session: RoleSession) -> list[dict[str, Any]]:
    return role_documents(session.role_arn)


def _context(session: RoleSession) -> dict[str, str]:
    return {f"aws:PrincipalTag/{k}": v for k, v in session.tags.items()}


def _access_key(request: Any) -> str | None:
    header = request.headers.get("Authorization") or ""
    found = _CREDENTIAL.search(header)
    if found:
        return found.group(1)
    url = getattr(request, "url", "") or ""
    found = re.search(r"X-Amz-Credential=([A-Z0-9]+)(?:%2F|/)", url)
    return found.group(1) if found else None


def _object_action(method: str, query: dict[str, Any], headers: Any) -> str:
    if method in ("GET", "HEAD"):
        return "s3:GetObject"
    if method == "DELETE":
        return "s3:AbortMultipartUpload" if "uploadId" in query else "s3:DeleteObject"
    return "s3:PutObject"  # PUT (also UploadPart), POST (Create/CompleteMultipartUpload)


def _bucket_action(method: str, query: dict[str, Any]) -> str:
    if method in ("GET", "HEAD"):
        return "s3:ListBucketMultipartUploads" if "uploads" in query else "s3:ListBucket"
    if method == "POST" and "delete" in query:
        return "s3:DeleteObject"
    return {"PUT": "s3:CreateBucket", "DELETE": "s3:DeleteBucket"}.get(method, "s3:ListBucket")


def _session_of_request(request: Any) -> RoleSession | None:
    key = _access_key(request)
    return session_of(key) if key else None


def judge(session: RoleSession, action: str, resource: str) -> None:
    """Raise S3's answer when the tagged role ``session`` may not do ``action`` on ``resource``."""
    from moto.s3.exceptions import S3AccessDeniedError, S3ClientError

    if datetime.datetime.now(datetime.UTC) >= session.expiration:
        raise S3ClientError("ExpiredToken", "The provided token has expired.")
    if not evaluate(_role_documents(session), action, resource, _context(session)):
        raise S3AccessDeniedError()


# -- patches ----------------------------------------------------------------------------------------


def _tags(response: Any) -> dict[str, str]:
    """AssumeRole's ``Tags`` (moto's parser gives the list of ``{"Key", "Value"}``)."""
    listed = response._get_param("Tags") or []
    return {str(t.get("Key")): str(t.get("Value", "")) for t in listed if isinstance(t, dict)}


def apply() -> None:
    """Patch moto's STS and S3 in this process (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        _applied = True
    from urllib.parse import parse_qs, urlparse

    from moto.sts.exceptions import STSValidationError
    from moto.sts.models import STSBackend
    from moto.sts.responses import TokenResponse

    original_response = TokenResponse.assume_role
    original_backend = STSBackend.assume_role

    def assume_role(self: Any) -> Any:
        duration = self._get_int_param("DurationSeconds", 3600)
        tags = _tags(self)
        if duration < MIN_DURATION:
            raise STSValidationError(
                f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy "
                f"constraint: Member must have value greater than or equal to {MIN_DURATION}")
        if len(tags) > MAX_SESSION_TAGS or any(len(k) > 128 or len(v) > 256 for k, v in tags.items()):
            raise STSValidationError("Session tags: at most 50, keys up to 128 and values up to 256 characters")
        role_arn = self._get_param("RoleArn") or ""
        from moto.sts.exceptions import STSClientError

        from tapcase.localcloud import sts_trust

        try:
            caller = sts_trust.check(role_arn, self.get_access_key(), self._get_param("ExternalId"), tags)
        except STSClientError as refusal:
            if refusal.code != "AccessDenied":
                raise
            return _forbidden(self, refusal)
        if caller.role_arn is not None and duration > ROLE_CHAINING_MAX:
            raise STSValidationError(ROLE_CHAINING_MESSAGE)
        maximum = _max_session_duration(role_arn)
        if maximum is not None and duration > maximum:
            raise STSValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        _pending.tags = tags
        try:
            return original_response(self)
        finally:
            _pending.tags = None

    def backend_assume_role(self: Any, *args: Any, **kwargs: Any) -> Any:
        role = original_backend(self, *args, **kwargs)
        from moto.sts.models import sts_backends

        _forget_expired_roles(sts_backends[role.account_id][role.partition])
        tags = getattr(_pending, "tags", None)
        if tags:
            expiration = role.expiration
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=datetime.UTC)
            _record(role.access_key_id, RoleSession(role.role_arn, role.account_id, dict(tags), expiration))
        return role

    install(ASSUME_ROLE_RESPONSE, assume_role)
    install(ASSUME_ROLE_BACKEND, backend_assume_role)

    from moto.s3.responses import S3Response

    original_key = S3Response._key_response
    original_bucket = S3Response._bucket_response

    def _key_response(self: Any, request: Any, full_url: str) -> Any:
        session = _session_of_request(request)
        if session is not None:
            query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
            bucket = self.parse_bucket_name_from_url(request, full_url)
            resource = f"arn:aws:s3:::{bucket}/{self.parse_key_name()}"
            judge(session, _object_action(request.method, query, request.headers), resource)
        return original_key(self, request, full_url)

    def _bucket_response(self: Any, request: Any, full_url: str) -> Any:
        session = _session_of_request(request)
        if session is not None:
            query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
            bucket = self.parse_bucket_name_from_url(request, full_url)
            judge(session, _bucket_action(request.method, query), f"arn:aws:s3:::{bucket}")
        return original_bucket(self, request, full_url)

    install(KEY_RESPONSE, _key_response)
    install(BUCKET_RESPONSE, _bucket_response)


def _forbidden(response: Any, refusal: Exception) -> Any:
    """STS's AccessDenied as AWS sends it: HTTP 403 (moto's serializer gives every error shape the
    STS model does not list 400)."""
    import warnings

    from moto.core.responses import ActionResult

    with warnings.catch_warnings():  # moto warns that STS's model lists no AccessDenied shape
        warnings.simplefilter("ignore", UserWarning)
        _status, headers, body = response.serialized(ActionResult(refusal))
    headers["status"] = 403
    return body, headers


def _max_session_duration(role_arn: str) -> int | None:
    from moto.iam.models import iam_backends

    parts = role_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam":
        return None
    try:
        role = iam_backends[parts[4]]["global"].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - moto lets a session of an unknown role be made; no maximum to check
        return None
    value = getattr(role, "max_session_duration", None)
    return int(value) if value else 3600
