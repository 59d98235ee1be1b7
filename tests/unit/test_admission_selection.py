"""Admission (how many investigations at once) and selections (which instances), pure logic."""

from __future__ import annotations

import pytest

from tapcase_workflow.errors import InvalidRequest, NothingSelected, TooManyInvestigations
from tapcase_workflow.logic.admission import RETRY_SECONDS, admitted, no_room
from tapcase_workflow.logic.selection import (
    MAX_EXECUTION_NAME,
    child_execution_name,
    select_by_enis,
    select_by_tags,
)
from tapcase_workflow.models.request import SelectionRequest


def test_admitted_says_how_many_slots_are_taken():
    assert admitted(3, 10).reason == "admitted: 3 of 10 investigation slots taken"


def test_no_room_waits_until_the_stacks_maximum_wait():
    answer = no_room(running=2, limit=2, action="wait", waited_seconds=0, max_wait_seconds=3600)
    assert not answer.admitted and answer.wait_seconds == RETRY_SECONDS
    assert "2 investigations are running and this stack allows 2 at once" in answer.reason
    with pytest.raises(TooManyInvestigations, match="waited 3590 s for a slot, ConcurrencyMaxWaitSeconds allows 3600"):
        no_room(running=2, limit=2, action="wait", waited_seconds=3590, max_wait_seconds=3600)


def test_no_room_refuses_at_once_when_asked_to():
    with pytest.raises(TooManyInvestigations, match="ConcurrencyLimitAction is refuse"):
        no_room(running=5, limit=5, action="refuse", waited_seconds=0, max_wait_seconds=3600)


def _selection(**kw):
    return SelectionRequest(trigger="manual", duration_seconds=60, reason="r", **kw)


def test_tags_select_running_instances_and_name_the_others():
    instances = [{"InstanceId": "i-b", "State": {"Name": "running"}}, {"InstanceId": "i-a", "State": {"Name": "running"}},
                 {"InstanceId": "i-c", "State": {"Name": "stopped"}}, {"InstanceId": "i-d", "State": {"Name": "terminated"}}]
    selected, warnings = select_by_tags(_selection(tags={"team": "x"}), instances)
    assert [s.instance_id for s in selected] == ["i-a", "i-b"]
    assert warnings == ["not running, not investigated: i-c (stopped)"]
    with pytest.raises(NothingSelected, match="tags: no running instance carries tags team=x"):
        select_by_tags(_selection(tags={"team": "x"}), instances[2:])


def test_enis_select_their_instances():
    enis = [{"NetworkInterfaceId": "eni-1", "Attachment": {"InstanceId": "i-a"}},
            {"NetworkInterfaceId": "eni-2", "Attachment": {"InstanceId": "i-a"}},
            {"NetworkInterfaceId": "eni-3", "Attachment": {"InstanceId": "i-b"}},
            {"NetworkInterfaceId": "eni-4", "InterfaceType": "network_load_balancer"}]
    selected = select_by_enis(_selection(eni_ids=["eni-1", "eni-3", "eni-2"]), enis)
    assert [(s.instance_id, s.eni_ids) for s in selected] == [("i-a", ["eni-1", "eni-2"]), ("i-b", ["eni-3"])]
    with pytest.raises(InvalidRequest, match="eni_ids: eni-4 .network_load_balancer. is not attached"):
        select_by_enis(_selection(eni_ids=["eni-4"]), enis)
    with pytest.raises(InvalidRequest, match="eni_ids: eni-9 does not exist"):
        select_by_enis(_selection(eni_ids=["eni-9"]), enis)


def test_child_execution_names_fit_and_stay_apart():
    parent = "x" * 80
    a, b = child_execution_name(parent, "i-0123456789abcdef0"), child_execution_name(parent, "i-0fedcba9876543210")
    assert len(a) <= MAX_EXECUTION_NAME and a != b
    assert child_execution_name("nightly:run 1", "i-01234567") == "nightly-run-1-i-01234567"
