"""Control plane: Traffic Mirror filters and their network services.

- ``CreateTrafficMirrorFilter``: the account quota (10,000 filters) and ClientToken idempotency;
- ``DeleteTrafficMirrorFilter`` (moto lacks it): refused with ``TrafficMirrorFilterInUse`` (EC2
  error codes) while a session uses the filter; its rules and their tags go with it;
- ``DescribeTrafficMirrorFilters``: ids, filters and pages (:mod:`.describe`);
- ``ModifyTrafficMirrorFilterNetworkServices`` (moto lacks it): adds or removes ``amazon-dns``
  ("By default, Amazon DNS network services are not eligible for Traffic Mirror").

Parameters arrive checked by the table (:mod:`.actions`); each function is installed on moto's
``TrafficMirrorsBackend`` under the action's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapcase.localcloud import patching
from tapcase.localcloud.mirroring import describe, errors, limits, store
from tapcase.localcloud.patching import Patch

_BACKEND = "moto.ec2.models.traffic_mirrors:TrafficMirrorsBackend"

CREATE = Patch(
    target=f"{_BACKEND}.create_traffic_mirror_filter",
    fixes="CreateTrafficMirrorFilter refuses the 10,001st filter and honours ClientToken",
    relies_on="moto's create_traffic_mirror_filter(self, description, tag_specifications, client_token) builds "
    "the filter and keeps it in traffic_mirror_filters",
    watch={f"{_BACKEND}.create_traffic_mirror_filter": "0ee3a5583268", f"{_BACKEND}.__init__": "9b16ea21751f"},
)
DELETE = Patch(
    target=f"{_BACKEND}.delete_traffic_mirror_filter",
    fixes="DeleteTrafficMirrorFilter exists; refused while a session uses the filter",
    relies_on="filters and sessions live in TrafficMirrorsBackend's dicts by id; EC2Backend does not define the method",
    watch={f"{_BACKEND}.__init__": "9b16ea21751f"},
    adds=True,
)
DESCRIBE = Patch(
    target=f"{_BACKEND}.describe_traffic_mirror_filters",
    fixes="DescribeTrafficMirrorFilters refuses unknown ids and filter names, supports tag filters and wildcards",
    relies_on="moto's response passes traffic_mirror_filter_ids and filters by keyword",
    watch={f"{_BACKEND}.describe_traffic_mirror_filters": "f2643acd86c7"},
)
NETWORK_SERVICES = Patch(
    target=f"{_BACKEND}.modify_traffic_mirror_filter_network_services",
    fixes="ModifyTrafficMirrorFilterNetworkServices exists: amazon-dns added to or removed from a filter",
    relies_on="filters live in traffic_mirror_filters by id; EC2Backend does not define the method",
    watch={f"{_BACKEND}.__init__": "9b16ea21751f"},
    adds=True,
)


def create_traffic_mirror_filter(
    self: Any, description: str | None, tag_specifications: list[dict[str, Any]] | None, client_token: str | None
) -> Any:
    """CreateTrafficMirrorFilter with the account quota and ClientToken idempotency."""
    request = {"description": description, "tag_specifications": tag_specifications}
    with store.lock:
        earlier = store.earlier(self.traffic_mirror_filters.values(), client_token, request)
        if earlier is not None:
            return earlier
        if len(self.traffic_mirror_filters) >= limits.FILTERS_PER_ACCOUNT:
            raise errors.refused(
                "TrafficMirrorFilterLimitExceeded",
                f"The maximum number of Traffic Mirror filters ({limits.FILTERS_PER_ACCOUNT}) has been exceeded.",
            )
        created = patching.ORIGINALS[CREATE.target](self, description, tag_specifications, client_token)
        return store.remember(created, request)


def delete_traffic_mirror_filter(self: Any, traffic_mirror_filter_id: str) -> str:
    """DeleteTrafficMirrorFilter: refused while a session uses the filter; its rules go with it."""
    with store.lock:
        mirror_filter = store.get_filter(self, traffic_mirror_filter_id)
        users = [s.id for s in self.traffic_mirror_sessions.values() if s.traffic_mirror_filter_id == mirror_filter.id]
        if users:
            raise errors.refused(
                "TrafficMirrorFilterInUse",
                f"The Traffic Mirror filter {mirror_filter.id} cannot be deleted because it is used by "
                f"Traffic Mirror session(s) {', '.join(users)}.",
            )
        del self.traffic_mirror_filters[mirror_filter.id]
        store.drop_tags(self, [mirror_filter.id, *mirror_filter.rules])
        return str(mirror_filter.id)


def describe_traffic_mirror_filters(
    self: Any, traffic_mirror_filter_ids: list[str] | None, filters: dict[str, list[str]] | None
) -> list[Any]:
    """DescribeTrafficMirrorFilters."""
    with store.lock:
        found = list(self.traffic_mirror_filters.values())
        return describe.select(found, traffic_mirror_filter_ids, "filter", filters, describe.FILTER_FILTERS)


def modify_traffic_mirror_filter_network_services(
    self: Any,
    traffic_mirror_filter_id: str,
    add_network_services: list[str] | None,
    remove_network_services: list[str] | None,
) -> Any:
    """ModifyTrafficMirrorFilterNetworkServices (the table allows only ``amazon-dns``)."""
    with store.lock:
        mirror_filter = store.get_filter(self, traffic_mirror_filter_id)
        for service in add_network_services or []:
            if service not in mirror_filter.network_services:
                mirror_filter.network_services.append(service)
        for service in remove_network_services or []:
            if service in mirror_filter.network_services:
                mirror_filter.network_services.remove(service)
        return mirror_filter


#: Each record with the function it installs.
FIXES: tuple[tuple[Patch, Callable[..., Any]], ...] = (
    (CREATE, create_traffic_mirror_filter),
    (DELETE, delete_traffic_mirror_filter),
    (DESCRIBE, describe_traffic_mirror_filters),
    (NETWORK_SERVICES, modify_traffic_mirror_filter_network_services),
)


def apply() -> None:
    for record, function in FIXES:
        patching.install(record, function)
