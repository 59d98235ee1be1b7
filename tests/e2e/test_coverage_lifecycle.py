"""Coverage over the stack's life (issue 14 item 3: "the same teardown guarantees"): the template's
``CoverageLifecycle`` custom resource has CloudFormation ask the Coverage function to reconcile when
the stack is created (coverage starts with the deployment, before any instance event or scheduled
run) and to remove every coverage session and filter when the stack is deleted — its rules and
schedule go with the stack, so nothing else would. A selector that cannot work fails the
deployment with the function's reason, and the stack is rolled back (CREATE_FAILED →
ROLLBACK_COMPLETE; CloudFormation user guide, "Custom resources")."""

from __future__ import annotations

import pytest

from tapcase.localcloud import LocalCloud
from tapcase.localcloud.deploy import TemplateError, deploy_template
from tests.conftest import REPO
from tests.e2e.conftest import TIME_SCALE
from tests.e2e.test_coverage import (
    COVERED,
    SELECTOR,
    coverage_filters,
    coverage_sessions,
    fleet_beside_the_suspect,
    launch,
    sessions_of,
)
from tests.e2e.test_fleet import deploy


@pytest.fixture(scope="module")
def fleet_cloud():
    """A fleet and a suspect's subnet, no tapcase stack yet."""
    with LocalCloud(time_scale=TIME_SCALE, template=None) as cloud:
        fleet = fleet_beside_the_suspect(cloud)
        cloud.template = REPO / "template.yaml"  # its parameters (local_parameters), deployed by the tests
        yield cloud, fleet


def functions(cloud: LocalCloud) -> set[str]:
    return {f["FunctionName"] for f in cloud.client("lambda").list_functions()["Functions"]}


def test_deploying_covers_tagged_instances_at_once_and_deleting_the_stack_leaves_no_coverage(fleet_cloud):
    cloud, fleet = fleet_cloud
    # Given a tagged instance that runs before the stack exists (no rule of the stack saw it start)
    iid, eni = launch(cloud, fleet["subnet_of_suspects"], COVERED)
    # When the stack is deployed with coverage on
    deploy(cloud, FleetTargetId=fleet["target_id"], FleetControlQueueUrl=fleet["queue"], **SELECTOR)
    # Then the instance is mirrored to the fleet as soon as the deployment is complete
    (session,) = sessions_of(cloud, eni)
    assert session["TrafficMirrorTargetId"] == fleet["target_id"]
    assert cloud.stack.get_att("CoverageLifecycle", "Covered") == "1"
    assert len(coverage_filters(cloud)) == 1
    # When the stack is deleted
    cloud.delete_stack()
    # Then no coverage session or filter is left, the fleet's own target is untouched, the stack's
    # functions are gone and its evidence bucket is kept (DeletionPolicy: Retain)
    assert coverage_sessions(cloud) == [] and coverage_filters(cloud) == []
    targets = cloud.client("ec2").describe_traffic_mirror_targets()["TrafficMirrorTargets"]
    assert fleet["target_id"] in {t["TrafficMirrorTargetId"] for t in targets}
    assert not {f for f in functions(cloud) if f.startswith("tapcase-")}
    assert "tapcase-evidencebucket" in {b["Name"] for b in cloud.client("s3").list_buckets()["Buckets"]}
    cloud.client("ec2").terminate_instances(InstanceIds=[iid])


def test_a_fleet_target_that_does_not_exist_fails_the_deployment_and_rolls_it_back(fleet_cloud):
    cloud, _ = fleet_cloud
    before = functions(cloud)
    parameters = {**cloud.local_parameters(), **SELECTOR, "FleetTargetId": "tmt-0123456789abcdef0",
                  "FleetControlQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/none"}
    with pytest.raises(TemplateError, match=r"CoverageLifecycle CREATE_FAILED: FleetTargetNotFound: .*tmt-0123456789abcdef0"):
        deploy_template(cloud, REPO / "template.yaml", parameters, stack_name="tapcase-badtarget")
    assert functions(cloud) == before  # rolled back
    assert coverage_sessions(cloud) == [] and coverage_filters(cloud) == []
