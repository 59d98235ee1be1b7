"""Traffic scenarios: demo captures of incident stories.

``generate(name, out)`` writes a pcap of one of the stories in :data:`SCENARIOS`: by default the
plain traffic of the suspect's subnet as captured (the suspect's ENI, with the host services AWS
never mirrors, and two neighbouring hosts); with ``form="vxlan"`` what an AWS mirror session with
an accept-all filter and ``amazon-dns`` delivers to a sensor (VXLAN, UDP 4789). It returns a
:class:`ScenarioInfo` with the identities used, what the capture holds and the answers an
analysis should find. Sample GuardDuty events matching the stories are in
``samples/findings/<name>.json`` (see :mod:`tapcase.scenario.findings`).
"""

from tapcase.scenario.generator import UnknownScenario, default_vni, generate, names, plan
from tapcase.scenario.model import Expected, ScenarioInfo
from tapcase.scenario.stories import STORIES as SCENARIOS
from tapcase.scenario.stories import Story

__all__ = [
    "SCENARIOS",
    "Expected",
    "ScenarioInfo",
    "Story",
    "UnknownScenario",
    "default_vni",
    "generate",
    "names",
    "plan",
]
