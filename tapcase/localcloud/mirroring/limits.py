"""Every number AWS sets for VPC Traffic Mirroring that the local cloud enforces (no moto, no boto3).

Quotas: the Traffic Mirroring quotas page (none is adjustable). Ranges: the EC2 API reference and
its model (``SessionNumber`` "Valid values are 1-32766", ``PacketLength`` "Valid values are
1-8500", ``MaxResults`` 5-1000; ``VirtualNetworkId`` is a 24-bit VXLAN network identifier).
The control plane reads the quotas through this module when a request comes
(``limits.SESSIONS_PER_ACCOUNT``), so a test may lower one with ``monkeypatch.setattr``.
"""

from __future__ import annotations

# --- quotas (Traffic Mirroring quotas) ----------------------------------------------------------
SESSIONS_PER_SOURCE_ENI = 3
RULES_PER_FILTER = 10  # "Maximum number of filter rules per filter": ingress and egress together
SOURCES_PER_ENI_TARGET = 10  # 100 on some large instance types; the local cloud uses 10
SESSIONS_PER_ACCOUNT = 10_000
TARGETS_PER_ACCOUNT = 10_000
FILTERS_PER_ACCOUNT = 10_000

# --- parameter ranges (EC2 API reference) --------------------------------------------------------
NUMBER_MIN, NUMBER_MAX = 1, 32766  # SessionNumber and RuleNumber
PACKET_LENGTH_MIN, PACKET_LENGTH_MAX = 1, 8500
VNI_MIN, VNI_MAX = 0, 2**24 - 1  # VXLAN network identifiers are 24-bit
PROTOCOL_MIN, PROTOCOL_MAX = 0, 255  # IANA protocol numbers
PORT_MIN, PORT_MAX = 0, 65535
MAX_RESULTS_MIN, MAX_RESULTS_MAX = 5, 1000
PROTOCOLS_WITH_PORTS = frozenset({6, 17})  # port ranges "apply to the TCP and UDP protocols"

#: PacketLength AWS sets on sessions to a Network Load Balancer target when none is given.
NLB_DEFAULT_PACKET_LENGTH = 8500
