"""Numbers the workflow and the sensor must agree on."""

from __future__ import annotations

from tapcase_contract.errors import ContractError

#: VXLAN, as VPC Traffic Mirroring sends it: UDP 4789 to the target. The sensor's security group
#: opens it (Plan) and the engines' capture filter keeps only it (the agent).
VXLAN_PORT = 4789

#: Suricata 7 refuses a pcap-log file ``limit`` below 4 MiB, so a pcap evidence cap is 0 (keep no
#: packets) or at least this (the stack parameter EvidencePcapMaxMB, Plan, the agent).
MIN_PCAP_MB = 4
#: Default of the stack parameter EvidencePcapMaxMB (MiB).
DEFAULT_PCAP_MAX_MB = 1024

#: ``HeartbeatSeconds`` of the ``CollectEvidence`` state: a sensor that stops heartbeating while it
#: uploads is noticed (``States.HeartbeatTimeout``) this long after, not after the whole
#: ``CollectTimeoutSeconds``. The agent heartbeats every :data:`SENSOR_HEARTBEAT_SECONDS`.
COLLECT_HEARTBEAT_SECONDS = 600
#: How often the agent sends ``SendTaskHeartbeat`` during a long action (well inside the above,
#: so that a throttled or lost heartbeat or two does not fail the investigation).
SENSOR_HEARTBEAT_SECONDS = 60
#: The sensor shuts itself down (and so terminates: instance-initiated shutdown behaviour
#: ``terminate``) this long after the latest moment its investigation could still need it
#: (ready timeout + capture + collect timeout, from the plan).
SENSOR_DEADLINE_MARGIN_SECONDS = 600

#: Coverage mode: the VXLAN network id of every coverage session (one for all covered ENIs; the
#: fleet keeps it as rolling logs and an investigation's VNI is never this one), and the session
#: number a coverage session takes on its ENI: the highest CreateTrafficMirrorSession allows
#: (1-32766), so that any other session, an investigation's first of all, is evaluated before it
#: ("the first session with a matching filter is the one that mirrors the packets").
COVERAGE_VNI = 16_777_215
COVERAGE_SESSION_NUMBER = 32_766


def check_pcap_max_mb(value: object) -> int:
    """The pcap evidence cap in MiB: 0 (keep no packets) or at least :data:`MIN_PCAP_MB`."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value, whole = int(value), True
    if isinstance(value, bool) or not whole:
        raise ContractError(f"pcap_max_mb must be a whole number of MiB, not {value!r}")
    assert isinstance(value, (int, float))
    number = int(value)
    if number < 0 or 0 < number < MIN_PCAP_MB:
        raise ContractError(
            f"pcap_max_mb must be 0 (keep no packets) or at least {MIN_PCAP_MB} MiB "
            f"(Suricata's smallest pcap-log file), not {number}"
        )
    return number
