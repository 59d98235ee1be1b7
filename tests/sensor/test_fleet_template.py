"""The sensor fleet's CloudFormation template (sensor_image/fleet/fleet.yaml) and its units.

Checked statically (cfn-lint runs in `make lint`): the NLB has a UDP 4789 listener (Traffic
Mirroring: an NLB target needs a UDP listener on the VXLAN port), its target group keeps one source
on one member (ELB TargetGroupAttribute stickiness.type source_ip for Network Load Balancers) and
health-checks what the members serve, the mirror target is on the NLB, the members carry the
contract's role tag and run the agent's fleet command.
"""

from __future__ import annotations

import re

from tapcase.localcloud.cfn import load_template
from tapcase_contract.limits import VXLAN_PORT
from tapcase_contract.tags import ROLE, ROLE_FLEET_MEMBER
from tapcase_sensor.cli import build_parser
from tests.conftest import REPO

FLEET = load_template(REPO / "sensor_image" / "fleet" / "fleet.yaml")
RESOURCES = FLEET["Resources"]
BOOT = REPO / "sensor_image" / "boot"


def of_type(kind: str) -> dict:
    (found,) = [r["Properties"] for r in RESOURCES.values() if r["Type"] == kind]
    return found


def test_nlb_udp_4789_listener_to_a_sticky_target_group():
    assert of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")["Type"] == "network"
    listener = of_type("AWS::ElasticLoadBalancingV2::Listener")
    assert (listener["Protocol"], listener["Port"]) == ("UDP", VXLAN_PORT)
    group = of_type("AWS::ElasticLoadBalancingV2::TargetGroup")
    assert (group["Protocol"], group["Port"], group["TargetType"]) == ("UDP", VXLAN_PORT, "instance")
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["stickiness.enabled"] == "true" and attributes["stickiness.type"] == "source_ip"
    health = (BOOT / "tapcase-fleet-health.service").read_text()
    assert f"http.server {group['HealthCheckPort']}" in health
    assert group["HealthCheckPath"] == "/healthy" and "/healthy" in (BOOT / "tapcase-fleet-capture.service").read_text()


def test_the_mirror_target_is_the_nlb_and_the_outputs_feed_the_tapcase_stack():
    assert of_type("AWS::EC2::TrafficMirrorTarget")["NetworkLoadBalancerArn"] == {"Ref": "LoadBalancer"}
    assert {"FleetTargetId", "ControlQueueUrl"} <= set(FLEET["Outputs"])
    tapcase = load_template(REPO / "template.yaml")["Parameters"]
    assert {"FleetTargetId", "FleetControlQueueUrl"} <= set(tapcase)


def test_members_carry_the_role_tag_and_run_the_fleet_agent():
    tags = {t["Key"]: t["Value"] for t in of_type("AWS::AutoScaling::AutoScalingGroup")["Tags"]}
    assert tags[ROLE] == ROLE_FLEET_MEMBER
    ingress = of_type("AWS::EC2::SecurityGroup")["SecurityGroupIngress"]
    assert {(r["IpProtocol"], r["FromPort"]) for r in ingress} == {("udp", VXLAN_PORT), ("tcp", 8080)}  # no SSH
    unit = (BOOT / "tapcase-fleet.service").read_text()
    command = re.search(r"ExecStart=\S+/tapcase-sensor (.*)", unit).group(1).split()
    args = build_parser().parse_args(command)
    assert args.command == "fleet" and args.ring == "/var/lib/tapcase-fleet/ring"
    capture = (BOOT / "tapcase-fleet-capture.service").read_text()
    assert f"udp dst port {VXLAN_PORT}" in capture and args.ring in capture
    install = (REPO / "sensor_image" / "recipe" / "install.sh").read_text()
    assert "tcpdump" in install and all(u in install for u in ("tapcase-fleet-capture", "tapcase-fleet-health"))
