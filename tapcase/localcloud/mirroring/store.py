"""The account's traffic-mirroring resources where moto keeps them: lookups, tags, ClientToken, lock.

moto's ``TrafficMirrorsBackend`` (mixed into each account's and region's ``EC2Backend``) holds
``traffic_mirror_filters``, ``traffic_mirror_targets`` and ``traffic_mirror_sessions`` by id; the
filter rules live in their filter's ``rules`` (:mod:`.resources`). Tags live in the backend's
``tags`` by resource id.

**Idempotency.** A create repeated with its ``ClientToken`` returns what the first request
created; ``IdempotentParameterMismatch``: "The request uses the same client token as a previous,
but non-identical request" (EC2 error codes). :func:`earlier` finds what a token created,
:func:`remember` keeps the parameters it was created with.

**Lock.** The server is threaded: each action checks and writes under :data:`lock`, and the data
plane reads sessions, filters and ENIs under it too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from moto.ec2 import utils as ec2_utils

from tapcase.localcloud.mirroring import errors

#: Held by every action while it checks and writes, and by readers outside requests (the data plane).
lock = threading.RLock()


def get_filter(backend: Any, filter_id: str) -> Any:
    found = backend.traffic_mirror_filters.get(filter_id)
    if found is None:
        raise errors.not_found("filter", filter_id)
    return found


def get_target(backend: Any, target_id: str) -> Any:
    found = backend.traffic_mirror_targets.get(target_id)
    if found is None:
        raise errors.not_found("target", target_id)
    return found


def get_session(backend: Any, session_id: str) -> Any:
    found = backend.traffic_mirror_sessions.get(session_id)
    if found is None:
        raise errors.not_found("session", session_id)
    return found


def all_rules(backend: Any) -> dict[str, Any]:
    """Every filter rule of the account by id."""
    return {rid: rule for f in backend.traffic_mirror_filters.values() for rid, rule in f.rules.items()}


def get_rule(backend: Any, rule_id: str) -> Any:
    found = all_rules(backend).get(rule_id)
    if found is None:
        raise errors.not_found("rule", rule_id)
    return found


def tags_of(resource: Any) -> list[dict[str, str]]:
    """A resource's tags as they are now, in the API's shape."""
    return [{"Key": t["key"], "Value": t["value"]} for t in resource.get_tags()]


def tag_spec(tag_specifications: Any, resource_type: str) -> dict[str, str]:
    """The tags a request's ``TagSpecifications`` give to ``resource_type``."""
    if not tag_specifications:
        return {}
    return dict(ec2_utils.convert_tag_spec(tag_specifications).get(resource_type, {}))


def drop_tags(backend: Any, resource_ids: Iterable[str]) -> None:
    for resource_id in resource_ids:
        backend.tags.pop(resource_id, None)


def earlier(resources: Iterable[Any], client_token: str | None, request: dict[str, Any]) -> Any | None:
    """The resource an earlier request with this ClientToken created, as AWS's idempotency returns it."""
    if not client_token:
        return None
    for resource in resources:
        if getattr(resource, "client_token", None) == client_token:
            if getattr(resource, "creation_request", None) != request:
                raise errors.idempotent_mismatch()
            return resource
    return None


def remember(resource: Any, request: dict[str, Any]) -> Any:
    """Keep the parameters ``resource`` was created with (for a retry with its ClientToken)."""
    resource.creation_request = request
    return resource
