"""EC2 sends its instances' state changes and tag changes to EventBridge, as AWS does.

moto's EC2 sends no events. Here, to the default bus of the instance's account and region:

- "EC2 Instance State-change Notification" (source ``aws.ec2``; EC2 user guide, "State change
  events for Amazon EC2 instances"): ``resources`` the instance's ARN, ``detail``
  ``{"instance-id", "state"}``. "When you launch or start an instance, it enters the pending
  state and then the running state. When you stop an instance, it enters the stopping state and
  then the stopped state. When you terminate an instance, it enters the shutting-down state and
  then the terminated state": each transition sends both, in that order. moto's instances are in
  their final state at once; the events follow asynchronously (EventBridge delivers after the
  call answers), the second a moment after the first (a launch's ``running`` after RunInstances
  has applied its tags, as an instance boots after the call returned).
- "Tag Change on Resource" (source ``aws.tag``; Tag Editor user guide, "Monitor tag changes with
  serverless workflows and Amazon EventBridge"): for CreateTags/DeleteTags on an instance,
  ``resources`` its ARN, ``detail`` ``changed-tag-keys`` (added, changed or removed), ``tags``
  (the tags now), ``service`` ``ec2``, ``resource-type`` ``instance``, ``version``. Only instances
  (what tapcase listens to); tags given at launch come with the launch's state-change events.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

from tapcase.localcloud.patching import Patch, install

log = logging.getLogger(__name__)

STATE_CHANGE = "EC2 Instance State-change Notification"
TAG_CHANGE = "Tag Change on Resource"
#: The two states each transition goes through (the first, then the one moto sets at once).
TRANSITIONS = {"running": ("pending", "running"), "stopped": ("stopping", "stopped"),
               "terminated": ("shutting-down", "terminated")}
#: Real seconds between a transition's two events (RunInstances has tagged the instance by then).
SECOND_EVENT_DELAY = 0.05

_WATCH_INSTANCE = {
    "moto.ec2.models.instances:Instance.__init__": "4b6a3d3c0bf6",
}
LAUNCH = Patch(
    target="moto.ec2.models.instances:Instance.__init__",
    fixes="a launched instance sends EC2 Instance State-change Notification pending, then running, to "
    "EventBridge (EC2 user guide, State change events for Amazon EC2 instances)",
    relies_on="Instance.__init__(ec2_backend, …) creates the instance in state running, with .id and .ec2_backend",
    watch=dict(_WATCH_INSTANCE),
)
START = Patch(
    target="moto.ec2.models.instances:Instance.start",
    fixes="StartInstances sends pending, then running (EC2 Instance State-change Notification)",
    relies_on="Instance.start() sets the state running and returns the previous InstanceState (.name)",
    watch={"moto.ec2.models.instances:Instance.start": "59967ab3c8e7"},
)
STOP = Patch(
    target="moto.ec2.models.instances:Instance.stop",
    fixes="StopInstances sends stopping, then stopped (EC2 Instance State-change Notification)",
    relies_on="Instance.stop() sets the state stopped and returns the previous InstanceState (.name)",
    watch={"moto.ec2.models.instances:Instance.stop": "e6e7da70fc8a"},
)
TERMINATE = Patch(
    target="moto.ec2.models.instances:Instance.terminate",
    fixes="TerminateInstances (and an instance shutting itself down with behaviour terminate) sends "
    "shutting-down, then terminated (EC2 Instance State-change Notification)",
    relies_on="Instance.terminate() sets the state terminated and returns the previous InstanceState (.name)",
    watch={"moto.ec2.models.instances:Instance.terminate": "b5e4ee68c414"},
)
CREATE_TAGS = Patch(
    target="moto.ec2.responses.tags:TagResponse.create_tags",
    fixes="CreateTags on an instance sends Tag Change on Resource (source aws.tag) to EventBridge",
    relies_on="TagResponse.create_tags reads Resources and Tags with _get_param and applies them with "
    "ec2_backend.create_tags; ec2_backend.tags holds {resource id: {key: value}}",
    watch={"moto.ec2.responses.tags:TagResponse.create_tags": "77bfd21f44b0"},
)
DELETE_TAGS = Patch(
    target="moto.ec2.responses.tags:TagResponse.delete_tags",
    fixes="DeleteTags on an instance sends Tag Change on Resource (source aws.tag) to EventBridge",
    relies_on="TagResponse.delete_tags reads Resources and Tags with _get_param and removes them with "
    "ec2_backend.delete_tags",
    watch={"moto.ec2.responses.tags:TagResponse.delete_tags": "86033d243519"},
)
PATCHES = (LAUNCH, START, STOP, TERMINATE, CREATE_TAGS, DELETE_TAGS)

_lock = threading.Lock()
_applied = False


def _arn(account: str, region: str, instance_id: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"


def state_change_entry(account: str, region: str, instance_id: str, state: str) -> dict[str, Any]:
    """A PutEvents entry shaped as EC2's event (the bus adds id, time, account, region)."""
    return {"Source": "aws.ec2", "DetailType": STATE_CHANGE, "Resources": [_arn(account, region, instance_id)],
            "Detail": json.dumps({"instance-id": instance_id, "state": state})}


def tag_change_entry(account: str, region: str, instance_id: str, changed: list[str],
                     tags: dict[str, str]) -> dict[str, Any]:
    return {"Source": "aws.tag", "DetailType": TAG_CHANGE, "Resources": [_arn(account, region, instance_id)],
            "Detail": json.dumps({"changed-tag-keys": sorted(changed), "tags": dict(tags), "service": "ec2",
                                  "resource-type": "instance", "version": 1})}


_queue: queue.SimpleQueue[tuple[str, str, list[dict[str, Any]], float]] = queue.SimpleQueue()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def _deliver() -> None:
    from moto.events.models import events_backends

    while True:
        account, region, entries, delay = _queue.get()
        for index, entry in enumerate(entries):
            if index and delay:
                time.sleep(delay)
            try:
                events_backends[account][region].put_events([entry])
            except Exception:  # noqa: BLE001 - best effort, as EventBridge's service events
                log.exception("EC2 event not delivered: %s", entry["DetailType"])


def _send(account: str, region: str, entries: list[dict[str, Any]], delay: float) -> None:
    """Put the entries on the default bus in the background, ``delay`` apart, after every entry
    sent before (one sender: an instance's events arrive in the order it went through its states)."""
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_deliver, name="ec2-events", daemon=True)
            _worker.start()
    _queue.put((account, region, entries, delay))


def state_changed(instance: Any, states: tuple[str, ...]) -> None:
    backend = instance.ec2_backend
    _send(backend.account_id, backend.region_name,
          [state_change_entry(backend.account_id, backend.region_name, instance.id, s) for s in states],
          SECOND_EVENT_DELAY)


def _transition(original: Any, final: str) -> Any:
    def replacement(self: Any) -> Any:
        previous = original(self)
        if getattr(previous, "name", None) != final:
            state_changed(self, TRANSITIONS[final])
        return previous

    return replacement


def apply() -> None:
    global _applied
    with _lock:
        if _applied:
            return
        from moto.ec2.models.instances import Instance
        from moto.ec2.responses.tags import TagResponse

        original_init = Instance.__init__

        def init(self: Any, ec2_backend: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, ec2_backend, *args, **kwargs)
            state_changed(self, TRANSITIONS["running"])

        install(LAUNCH, init)
        install(START, _transition(Instance.start, "running"))
        install(STOP, _transition(Instance.stop, "stopped"))
        install(TERMINATE, _transition(Instance.terminate, "terminated"))

        def tagging(original: Any) -> Any:
            def replacement(self: Any) -> Any:
                resources = [str(r) for r in self._get_param("Resources", []) if str(r).startswith("i-")]
                before = {r: dict(self.ec2_backend.tags.get(r, {})) for r in resources}
                answer = original(self)
                for resource in resources:
                    now = dict(self.ec2_backend.tags.get(resource, {}))
                    changed = [k for k in set(before[resource]) | set(now) if before[resource].get(k) != now.get(k)]
                    if changed:
                        _send(self.ec2_backend.account_id, self.ec2_backend.region_name,
                              [tag_change_entry(self.ec2_backend.account_id, self.ec2_backend.region_name,
                                                resource, changed, now)], 0.0)
                return answer

            return replacement

        install(CREATE_TAGS, tagging(TagResponse.create_tags))
        install(DELETE_TAGS, tagging(TagResponse.delete_tags))
        _applied = True
