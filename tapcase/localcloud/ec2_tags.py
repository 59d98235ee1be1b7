"""RunInstances tags the network interfaces it creates, as EC2 does.

EC2 API reference, RunInstances ``TagSpecifications``: "The tags to apply to the resources that are
created during instance launch. You can specify tags for the following resources only: Instances,
Volumes, Spot Instance requests, Network interfaces." moto 5.2.5 applies the ``instance`` and
``volume`` specifications and drops ``network-interface``: the sensor's interface (the mirror
target's) was untagged locally.
"""

from __future__ import annotations

import threading
from typing import Any

from tapcase.localcloud.patching import Patch, install

RUN_INSTANCES_ENI_TAGS = Patch(
    target="moto.ec2.responses.instances:InstanceResponse.run_instances",
    fixes="RunInstances applies TagSpecifications of ResourceType network-interface to the instances' "
    "network interfaces (EC2 API reference, RunInstances TagSpecifications)",
    relies_on="InstanceResponse.run_instances returns ActionResult(reservation) whose instances keep their "
    "interfaces in .nics ({device index: NetworkInterface}); _parse_tag_specification() answers "
    "{resource type: {key: value}}; the backend applies only the instance and volume types",
    watch={
        "moto.ec2.responses.instances:InstanceResponse.run_instances": "053f1ed0a0ec",
        "moto.ec2.models.instances:Instance.__init__": "4b6a3d3c0bf6",
    },
)
_lock = threading.Lock()
_applied = False


def apply() -> None:
    global _applied
    with _lock:
        if _applied:
            return
        from moto.ec2.responses.instances import InstanceResponse

        original = InstanceResponse.run_instances

        def run_instances(self: Any) -> Any:
            answer = original(self)
            eni_tags = dict(self._parse_tag_specification().get("network-interface") or {})
            if eni_tags:
                reservation: Any = answer.result
                for instance in reservation.instances:
                    for nic in instance.nics.values():
                        nic.add_tags(eni_tags)
            return answer

        install(RUN_INSTANCES_ENI_TAGS, run_instances)
        _applied = True
