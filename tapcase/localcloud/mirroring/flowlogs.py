"""VPC Flow Logs of the mirrored ENIs, written from the capture into their S3 destination.

The capture given to the local cloud is the traffic of the suspect's network interfaces; on AWS a
flow log of their VPC, subnet or ENI records that traffic whatever the mirroring does ("Flow
Logs do not record mirrored traffic": the mirror's copies are never in it, the originals always
are). For every flow log of the local EC2 (``CreateFlowLogs``) that covers a mirrored ENI, has an
``s3`` destination and a traffic type that takes accepted traffic, :func:`deliver` writes what AWS
would have delivered for the whole capture, the hour before the window included:

* "Flow log records" (VPC User Guide): one record per ENI, 5-tuple (addresses, ports, protocol,
  as sent: each direction its own record) and aggregation interval (the flow log's
  ``MaxAggregationInterval``, 600 s by default), in the default format, version 2:
  ``version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end
  action log-status``; ``start``/``end`` the Unix seconds of the first and last packet in the
  interval, ``bytes`` the IP packets' bytes, ``action`` ``ACCEPT`` (the capture holds traffic that
  reached the ENI), ``log-status`` ``OK``; ports 0 for protocols without ports.
* Not recorded ("Flow log limitations"): DHCP, instance metadata, Amazon Time Sync, Windows
  activation (as :func:`.packet_filter.never_mirrored`), DNS to the Amazon-provided resolver, and
  anything that is not IP (ARP).
* "Flow log files": gzip text with a header line, published every 5 minutes, under
  ``<prefix>/AWSLogs/<account>/vpcflowlogs/<region>/yyyy/MM/dd/`` with AWS's file names
  (:mod:`tapcase_contract.flow_logs`); a file holds the records that ended in its 5 minutes.

The packets keep their own timestamps (the capture's clock, the one the sensor's logs use), so the
records line up with the evidence. Writing is idempotent: the same capture gives the same keys.
The local cloud writes them when a sensor collects, which is before anything can read them.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tapcase.localcloud.mirroring import packet_filter as mr
from tapcase.localcloud.mirroring.wire import LINKTYPE_ETHERNET, decode, read_capture, vxlan_inner
from tapcase_contract import flow_logs as contract

PORTED = (6, 17, 132)  # TCP, UDP, SCTP


@dataclass(frozen=True)
class Destination:
    """One flow log with an S3 destination: where its files go and how it aggregates."""

    flow_log_id: str
    bucket: str
    prefix: str
    aggregation_seconds: int
    eni_ids: frozenset[str]


@dataclass
class Record:
    eni_id: str
    src: str
    dst: str
    sport: int
    dport: int
    proto: int
    packets: int = 0
    bytes: int = 0
    start: int = 0
    end: int = 0

    def line(self, account: str) -> str:
        return (f"2 {account} {self.eni_id} {self.src} {self.dst} {self.sport} {self.dport} {self.proto} "
                f"{self.packets} {self.bytes} {self.start} {self.end} ACCEPT OK")


@dataclass
class Delivery:
    """What one :func:`deliver` wrote (for tests and diagnostics)."""

    records: int = 0
    objects: list[str] = field(default_factory=list)


def parse_destination(arn: str) -> tuple[str, str]:
    """``arn:aws:s3:::bucket[/prefix]`` → ``(bucket, prefix)`` (no trailing slash)."""
    resource = arn.split(":", 5)[5] if arn.startswith("arn:") else arn
    bucket, _, prefix = resource.partition("/")
    return bucket, prefix.strip("/")


def destinations(backend: Any, eni_ids: Iterable[str]) -> list[Destination]:
    """The active S3 flow logs of the local EC2 that cover these ENIs (by ENI, subnet or VPC)."""
    covered: dict[str, set[str]] = {}
    for eni_id in eni_ids:
        eni = backend.get_network_interface(eni_id)
        subnet = getattr(eni, "subnet", None)
        for resource in (eni_id, getattr(subnet, "id", None), getattr(subnet, "vpc_id", None)):
            if resource:
                covered.setdefault(resource, set()).add(eni_id)
    found = []
    for flow_log in list(getattr(backend, "flow_logs", {}).values()):
        if flow_log.log_destination_type != "s3" or flow_log.traffic_type not in ("ALL", "ACCEPT"):
            continue
        enis = covered.get(flow_log.resource_id)
        if not enis or getattr(flow_log, "flow_log_status", "ACTIVE") != "ACTIVE":
            continue
        bucket, prefix = parse_destination(flow_log.log_destination)
        interval = int(flow_log.max_aggregation_interval or contract.DEFAULT_AGGREGATION_SECONDS)
        found.append(Destination(flow_log.id, bucket, prefix, interval, frozenset(enis)))
    return found


def records_of(capture: str | os.PathLike[str], sources: list[mr.SourceSpec], aggregation_seconds: int) -> list[Record]:
    """Flow-log records of the sources' ENIs from the capture (see the module doc)."""
    table: dict[tuple[str, bytes, bytes, int, int, int, int], Record] = {}
    for ts_us, linktype, frame in read_capture(capture, []):
        packet = decode(linktype, frame)
        inner = vxlan_inner(linktype, frame, packet) if packet.ip else None
        if inner is not None:
            frame = inner[1]
            packet = decode(LINKTYPE_ETHERNET, frame)
        if not packet.ip or mr.never_mirrored(packet):
            continue
        second = ts_us // 1_000_000
        for source in sources:
            if packet.src not in source.addresses and packet.dst not in source.addresses:
                continue
            if packet.src in source.resolvers or packet.dst in source.resolvers:
                continue  # DNS to the Amazon-provided resolver is not logged
            ported = packet.proto in PORTED
            sport, dport = (max(packet.sport, 0), max(packet.dport, 0)) if ported else (0, 0)
            key = (source.eni_id, packet.src, packet.dst, sport, dport, packet.proto, second // aggregation_seconds)
            record = table.get(key)
            if record is None:
                record = table[key] = Record(source.eni_id, mr.ip_text(packet.src), mr.ip_text(packet.dst), sport,
                                             dport, packet.proto, start=second)
            record.packets += 1
            record.bytes += len(frame) - packet.l3
            record.end = second
    return sorted(table.values(), key=lambda r: (r.start, r.eni_id, r.src, r.dst, r.sport, r.dport, r.proto))


def file_body(records: Iterable[Record], account: str) -> bytes:
    """A flow log file: the header line, then one record a line, gzip-compressed (deterministic)."""
    lines = [" ".join(contract.DEFAULT_FIELDS)] + [r.line(account) for r in records]
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def deliver(backend: Any, capture: str | os.PathLike[str] | None, sources: list[mr.SourceSpec]) -> Delivery:
    """Write the flow-log files of the sources' ENIs for the whole capture into every S3 flow log
    that covers them; nothing without a capture or such a flow log."""
    done = Delivery()
    if capture is None or not sources:
        return done
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    account, region = backend.account_id, backend.region_name
    s3 = s3_backends[account][get_partition(region)]
    for dest in destinations(backend, [s.eni_id for s in sources]):
        mine = [s for s in sources if s.eni_id in dest.eni_ids]
        published: dict[int, list[Record]] = {}
        for record in records_of(capture, mine, dest.aggregation_seconds):
            period = record.end - record.end % contract.PUBLISH_SECONDS + contract.PUBLISH_SECONDS
            published.setdefault(period, []).append(record)
        for period, records in sorted(published.items()):
            body = file_body(records, account)
            digest = hashlib.sha256(body).hexdigest()[:8]
            key = contract.object_key(dest.prefix, account, region, dest.flow_log_id, period, digest)
            s3.put_object(dest.bucket, key, body)
            done.records += len(records)
            done.objects.append(f"s3://{dest.bucket}/{key}")
    return done


__all__ = ["Delivery", "Destination", "Record", "deliver", "destinations", "file_body", "parse_destination",
           "records_of"]
