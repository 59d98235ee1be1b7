"""What a long-running local cloud holds, per holder: how many records and how many bytes.

``GET /_tapcase/holdings`` (``?sizes=1`` adds the deep sizes) answers :func:`holdings`, so that a
benchmark or an operator of ``tapcase local serve`` can tell which holder grows with each run. Two
kinds of holders, kept apart:

- **data AWS keeps too** (the same records would be there on AWS, until its own retention ends):
  S3 object versions (evidence, reports, Athena results: bucket lifecycle rules), Athena's query
  history (45 days), DynamoDB items, SQS messages, Step Functions finished executions (90 days on
  AWS, fewer here: :mod:`.sfn.retention`), EC2 instances (terminated ones for about an hour:
  :mod:`.ec2_retention`) and their tags;
- **the process's own**: glibc malloc's free heap (memory freed but kept in its arenas for reuse:
  resident, though nothing holds it; :func:`allocator_heap`), the data plane's mirror session ledger (:mod:`.mirroring.ledger`), STS
  role sessions (the sensors' upload credentials: forgotten an hour after they expire,
  :mod:`.sts_sessions`), threads,
  moto's interpreter thread list, the API call counter.

``bytes`` is the deep size of the holder's records (:func:`objsize.get_deep_size`, stopping at moto's
backends, classes, modules and functions, so that what several records share is counted once and
nothing outside the holder is); S3 also reports ``data_bytes``, the objects' own sizes.
"""

from __future__ import annotations

import threading
from typing import Any

import objsize


def _not_shared(obj: Any) -> bool:
    from moto.core.base_backend import BaseBackend

    return bool(objsize.shared_object_or_function_filter(obj)) and not isinstance(
        obj, BaseBackend | threading.Thread | type(threading.Lock()))


def _deep_size(*objs: Any) -> int:
    return int(objsize.get_deep_size(*objs, filter_func=_not_shared))


def _holder(count: int, records: list[Any], sizes: bool, **extra: Any) -> dict[str, Any]:
    return {"count": count, "bytes": _deep_size(*records) if sizes else None, **extra}


def allocator_heap() -> dict[str, int] | None:
    """glibc malloc's arenas, all of them (``malloc_info(3)``; ``mallinfo2`` sees only the main
    arena, and every thread of the interpreter may have its own): bytes held from the system, and
    of those the bytes freed but kept for reuse. None where the C library is not glibc."""
    import ctypes
    import ctypes.util
    import os
    import tempfile
    import xml.etree.ElementTree as ET  # noqa: S405 - glibc's own output, not untrusted input

    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        malloc_info = libc.malloc_info
    except (OSError, AttributeError):
        return None
    libc.fopen.restype = ctypes.c_void_p
    fd, path = tempfile.mkstemp(prefix="tapcase-malloc-")
    os.close(fd)
    try:
        stream = libc.fopen(path.encode(), b"w")
        if not stream:
            return None
        malloc_info(0, ctypes.c_void_p(stream))
        libc.fclose(ctypes.c_void_p(stream))
        root = ET.parse(path).getroot()  # noqa: S314 - written by glibc just now
    finally:
        os.unlink(path)
    totals = {t.get("type"): int(t.get("size", "0")) for t in root.findall("total")}
    system = {t.get("type"): int(t.get("size", "0")) for t in root.findall("system")}
    return {"arenas": len(root.findall("heap")), "free_bytes": totals.get("fast", 0) + totals.get("rest", 0),
            "system_bytes": system.get("current", 0)}


def holdings(account_id: str, region: str, *, sizes: bool = False) -> dict[str, dict[str, Any]]:
    """``{holder: {"count", "bytes", ...}}`` for one account and region (S3: every bucket)."""
    from moto.athena.models import athena_backends
    from moto.dynamodb.models import dynamodb_backends
    from moto.ec2.models import ec2_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends
    from moto.stepfunctions.parser import utils as sfn_utils
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from tapcase.localcloud import api_calls
    from tapcase.localcloud.athena.executions import local_execution

    out: dict[str, dict[str, Any]] = {}
    machines = list(stepfunctions_parser_backends[account_id][region].state_machines)
    executions = [e for m in machines for e in list(m.executions)]
    out["stepfunctions executions"] = _holder(len(executions), executions, sizes)

    athena = athena_backends[account_id][region]
    query_history = [athena.executions, getattr(athena, "_tapcase_request_tokens", {}),
                     getattr(athena, "_tapcase_started_on_clock", {})]
    locals_ = [local_execution(e) for e in list(athena.executions.values())]
    in_memory = sum(1 for local in locals_ if local is not None and local.result is not None and local.result.rows)
    out["athena query history"] = _holder(len(athena.executions), query_history, sizes, results_in_memory=in_memory)

    buckets = list(s3_backends[account_id]["global"].buckets.values())
    versions = [v for b in buckets for _, vs in list(b.keys.iterlists()) for v in vs]
    out["s3 object versions"] = _holder(len(versions), [b.keys for b in buckets], sizes,
                                        data_bytes=sum(v.size for v in versions))

    tables = list(dynamodb_backends[account_id][region].tables.values())
    out["dynamodb items"] = _holder(sum(len(v) if t.has_range_key else 1 for t in tables for v in list(t.items.values())),
                                    [t.items for t in tables], sizes)

    queues = list(sqs_backends[account_id][region].queues.values())
    out["sqs messages"] = _holder(sum(len(q._messages) for q in queues), [q._messages for q in queues], sizes)

    ec2 = ec2_backends[account_id][region]
    instances = [i for r in list(ec2.reservations.values()) for i in r.instances]
    out["ec2 instances"] = _holder(len(instances), [ec2.reservations], sizes,
                                   terminated=sum(1 for i in instances if i.state == "terminated"))
    out["ec2 tags"] = _holder(len(ec2.tags), [ec2.tags], sizes)
    out["ec2 network interfaces"] = _holder(len(ec2.enis), [ec2.enis], sizes)

    from tapcase.localcloud.mirroring import ledger

    out["mirror session ledger"] = {"count": len(ledger.session_ids()), "bytes": None}
    from moto.sts.models import sts_backends

    from tapcase.localcloud import sts_sessions

    roles = list(sts_backends[account_id]["aws"].assumed_roles)
    out["sts role sessions"] = _holder(len(roles), roles, sizes, tagged=sts_sessions.sessions_held())
    heap = allocator_heap()
    if heap is not None:
        # what glibc's malloc holds but nothing uses: freed memory kept in its arenas (part of RSS)
        out["allocator free heap"] = {"count": heap["arenas"], "bytes": heap["free_bytes"],
                                      "system_bytes": heap["system_bytes"]}
    out["threads"] = {"count": threading.active_count(), "bytes": None}
    out["moto interpreter threads"] = {"count": len(sfn_utils.TMP_THREADS), "bytes": None}
    out["api call counter"] = {"count": len(api_calls.snapshot()), "bytes": None}
    return out
