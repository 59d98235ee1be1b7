"""Traffic scenarios: demo captures of incident stories, as AWS VPC Traffic Mirroring delivers them.

``generate(name, out)`` writes a pcap of VXLAN-encapsulated (UDP 4789) traffic for one of the
stories in :data:`SCENARIOS` and returns a :class:`ScenarioInfo` with the identities used and the
answers an analysis should find. Sample GuardDuty events matching the stories are in
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
