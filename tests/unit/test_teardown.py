"""Teardown order and tolerance (pure logic against an in-memory cloud)."""

from __future__ import annotations

import pytest

from tapcase_workflow.errors import TeardownIncomplete
from tapcase_workflow.logic.teardown import KINDS, teardown


class FakeCloud:
    def __init__(self, resources, stuck_instances=()):
        self.resources = {k: list(v) for k, v in resources.items()}
        self.calls = []
        self.stuck = set(stuck_instances)

    def find(self, kind, investigation_id):
        return list(self.resources.get(kind, []))

    def delete(self, kind, rid):
        self.calls.append(kind)
        if kind == "sensor_instances" and rid in self.stuck:
            return True
        if rid in self.resources.get(kind, []):
            self.resources[kind].remove(rid)
            return True
        return False

    def wait_terminated(self, ids):
        return [i for i in ids if i in self.stuck]


def test_order_and_counts():
    cloud = FakeCloud({"mirror_sessions": ["s1", "s2"], "mirror_targets": ["t"], "mirror_filters": ["f"],
                       "sensor_instances": ["i"], "security_groups": ["g"], "control_queues": ["q"], "locks": ["l"]})
    result = teardown(cloud, "inv")
    order = [k for i, k in enumerate(cloud.calls) if i == 0 or cloud.calls[i - 1] != k]
    assert order == list(KINDS)
    assert result["deleted"]["mirror_sessions"] == 2
    assert all(v == 0 for v in result["leftovers"].values())


def test_nothing_to_delete_is_fine():
    result = teardown(FakeCloud({}), "inv")
    assert set(result["deleted"].values()) == {0}


def test_instance_not_terminated_is_retried_later():
    cloud = FakeCloud({"sensor_instances": ["i"], "security_groups": ["g"]}, stuck_instances={"i"})
    with pytest.raises(TeardownIncomplete, match="not terminated"):
        teardown(cloud, "inv")
    assert "security_groups" not in cloud.calls  # never before the sensor is gone
