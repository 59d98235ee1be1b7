"""EC2 CreateFlowLogs: an S3 destination may name a subfolder, as on AWS.

"If the destination type is s3, specify the ARN of an S3 bucket. For example:
arn:aws:s3:::my_bucket/my_subfolder/ The subfolder is optional." (EC2 API reference,
CreateFlowLogs, ``LogDestination``). moto 5.2.5 looks the whole resource part up as a bucket
name, so ``arn:aws:s3:::logs/vpc/`` came back as "LogDestination: logs/vpc/ does not exist".

Fixes ``FlowLogsBackend.create_flow_logs``: the bucket's existence is checked by its name alone
(moto's own check, on an ARN without the subfolder), a second flow log of a resource to the
same destination is refused (``FlowLogAlreadyExists``), and each flow log keeps the destination it
was given (``DescribeFlowLogs`` shows the subfolder, and the local data plane delivers under it:
:func:`tapcase.localcloud.mirroring.flowlogs.parse_destination`).
"""

from __future__ import annotations

import threading
from typing import Any

from tapcase.localcloud import patching

CREATE_FLOW_LOGS = patching.Patch(
    target="moto.ec2.models.flow_logs:FlowLogsBackend.create_flow_logs",
    fixes="CreateFlowLogs accepts an S3 destination with a subfolder (arn:aws:s3:::bucket/folder/)",
    relies_on="moto checks an s3 destination by get_bucket(resource part of the ARN) and keeps it as log_destination",
    watch={"moto.ec2.models.flow_logs:FlowLogsBackend.create_flow_logs": "e01cd02a2520"},
)
PATCHES = [CREATE_FLOW_LOGS]

_lock = threading.Lock()
_create_lock = threading.Lock()
_applied = False


def split_s3_destination(arn: str) -> tuple[str, str]:
    """``arn:aws:s3:::bucket/folder/`` → (``arn:aws:s3:::bucket``, ``folder/``)."""
    head, sep, resource = arn.rpartition(":")
    bucket, slash, folder = resource.partition("/")
    return f"{head}{sep}{bucket}", folder if slash else ""


def apply() -> None:
    """Patch moto's CreateFlowLogs in this process (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        stale = {p.target: patching.stale_watches(p) for p in PATCHES}
        if any(stale.values()):
            raise RuntimeError(f"tapcase's CreateFlowLogs fix does not fit moto: {stale}")
        from moto.ec2.exceptions import FlowLogAlreadyExists
        from moto.ec2.models.flow_logs import FlowLogsBackend

        original = FlowLogsBackend.create_flow_logs

        def create_flow_logs(self: Any, resource_type: str, resource_ids: list[str], traffic_type: str,
                             deliver_logs_permission_arn: str, log_destination_type: str, log_destination: str,
                             *args: Any, **kwargs: Any) -> Any:
            if log_destination_type != "s3" or not log_destination or not log_destination.startswith("arn:"):
                return original(self, resource_type, resource_ids, traffic_type, deliver_logs_permission_arn,
                                log_destination_type, log_destination, *args, **kwargs)
            bucket_arn, _ = split_s3_destination(log_destination)
            if any(fl.resource_id in resource_ids and fl.log_destination == log_destination
                   for fl in self.flow_logs.values()):
                raise FlowLogAlreadyExists()
            with _create_lock:
                # moto's own duplicate check compares with the destination it is given: it sees
                # none of the existing flow logs (checked above, against the whole destination)
                existing, self.flow_logs = self.flow_logs, {}
                try:
                    created, unsuccessful = original(self, resource_type, resource_ids, traffic_type,
                                                     deliver_logs_permission_arn, log_destination_type,
                                                     bucket_arn, *args, **kwargs)
                finally:
                    existing.update(self.flow_logs)
                    self.flow_logs = existing
            for flow_log in created:
                flow_log.log_destination = log_destination
            return created, unsuccessful

        patching.install(CREATE_FLOW_LOGS, create_flow_logs)
        _applied = True
