"""AWS quotas and limits the workflow plans against (one definition each).

VPC Traffic Mirroring quotas, none adjustable:
https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-limits.html
"""

from __future__ import annotations

#: "Maximum number of sessions per source network interface": 3.
MAX_SESSIONS_PER_ENI = 3
#: "Maximum number of filter rules per filter": 10 (ingress and egress together; rule numbers
#: are unique per direction).
MAX_RULES_PER_FILTER = 10
#: One reject rule per direction keeps the sensor's own traffic out of the capture.
SENSOR_EXCLUSION_RULES = 2
#: What a request may ask for on top of the sensor exclusion rules.
MAX_REQUESTED_RULES = MAX_RULES_PER_FILTER - SENSOR_EXCLUSION_RULES
#: CreateTrafficMirrorSession ``PacketLength``: "Valid values are 1-8500" (bytes after the VXLAN
#: header; AWS sets 8500 for sessions to a Network Load Balancer when none is given).
MAX_PACKET_LENGTH = 8500
