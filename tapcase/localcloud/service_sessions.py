"""Sessions of a role made by an AWS service for its own callers: a Lambda function's execution
role, a state machine's execution role, a sensor instance's profile role.

On AWS a Lambda function runs with its execution role's credentials ("Lambda execution role":
Lambda assumes the role and puts the session's keys in the function's environment,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, the session named after the
function), and Step Functions calls services with a session of the state machine's role. Locally
both used to sign with the cloud's default keys, so STS could not tell who assumed a role. Here the
service makes the session itself, as the service does (its trust of ``lambda.amazonaws.com`` /
``states.amazonaws.com`` is the service's business, not a caller's), through moto's STS backend:
the keys map to the role's account (moto keys its backends by the account of the access key) and
name the role (``sts_trust`` judges AssumeRole by that ARN).

A session lasts an hour and is renewed five minutes before it expires (as the services refresh
their credentials); sessions are kept per (role, session name).
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass

#: A session is renewed this long before it expires.
RENEW_BEFORE = datetime.timedelta(minutes=5)
DURATION_SECONDS = 3600
#: A region of each partition (moto's STS picks the partition from a region).
_REGION_OF = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime.datetime

    def environment(self) -> dict[str, str]:
        """As Lambda puts them in a function's environment."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_SESSION_TOKEN": self.session_token}

    def client_kwargs(self) -> dict[str, str]:
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key,
                "aws_session_token": self.session_token}


_sessions: dict[tuple[str, str], Keys] = {}
_lock = threading.Lock()


def session_of(role_arn: str, session_name: str) -> Keys:
    """Keys of a session of ``role_arn`` (the service's own, not subject to a caller's trust)."""
    from moto.sts.models import sts_backends

    now = datetime.datetime.now(datetime.UTC)
    key = (role_arn, session_name)
    parts = role_arn.split(":")
    partition, account = parts[1] or "aws", parts[4]
    with _lock:
        cached = _sessions.get(key)
    # still known to moto (a reset of its backends, a new local cloud, forgets every key)
    if cached is not None and cached.expiration - RENEW_BEFORE > now and known(cached.access_key_id, role_arn):
        return cached
    role = sts_backends[account][partition].assume_role(
        region_name=_REGION_OF.get(partition, "us-east-1"), role_session_name=session_name[:64], role_arn=role_arn,
        policy="", duration=DURATION_SECONDS, external_id="")
    expiration = role.expiration if role.expiration.tzinfo else role.expiration.replace(tzinfo=datetime.UTC)
    keys = Keys(role.access_key_id, role.secret_access_key, role.session_token, expiration)
    with _lock:
        _sessions[key] = keys
    return keys


def known(access_key_id: str, role_arn: str) -> bool:
    """Whether moto still knows a session's key (a reset of its backends forgets every key)."""
    from moto.iam.models import iam_backends

    parts = role_arn.split(":")
    if len(parts) < 6:
        return False
    return access_key_id in iam_backends[parts[4]][parts[1] or "aws"].access_keys


def reset() -> None:
    """Forget every session."""
    with _lock:
        _sessions.clear()
