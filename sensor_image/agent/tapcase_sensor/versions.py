"""Pinned engine versions. The Dockerfiles and compose.yaml must agree (a test checks)."""

from __future__ import annotations

ZEEK_VERSION = "8.0.8"
SURICATA_VERSION = "7.0.10"

#: Upstream images the sensor images are built FROM.
ZEEK_BASE_IMAGE = f"zeek/zeek:{ZEEK_VERSION}"
SURICATA_BASE_IMAGE = f"jasonish/suricata:{SURICATA_VERSION}"

#: Images built from sensor_image/{zeek,suricata}/Dockerfile (compose.yaml builds and tags them).
ZEEK_IMAGE = f"tapcase/sensor-zeek:{ZEEK_VERSION}"
SURICATA_IMAGE = f"tapcase/sensor-suricata:{SURICATA_VERSION}"

#: The ET Open ruleset the Suricata image fetches at build time (suricata/Dockerfile, ARG
#: ET_OPEN_URL): the one Emerging Threats publishes for this Suricata version.
ET_OPEN_URL = f"https://rules.emergingthreats.net/open/suricata-{SURICATA_VERSION}/emerging.rules.tar.gz"
