"""The contracts the workflow (Lambda functions), the sensor agent and the CLI share, each defined once.

Standard library only: the Lambda package (``CodeUri: functions/``), the agent distribution
(``sensor_image/agent``, through setuptools ``package-dir``) and the ``tapcase`` CLI import it.

* :mod:`.ids` - the investigation id rule, and how a finding id, an execution name or any folder
  name becomes a valid id;
* :mod:`.tags` - the tag keys every investigation resource carries;
* :mod:`.layout` - where evidence, curated tables, reports and Athena results live in the bucket;
* :mod:`.control` - the control messages the state machine sends the sensor (their actions are the
  names of the states that send them);
* :mod:`.sensor_config` - the sensor's configuration: what Plan writes into the user data is what
  the agent reads;
* :mod:`.limits` - numbers both sides must agree on (VXLAN port, pcap cap).
"""

from tapcase_contract.errors import ContractError

__all__ = ["ContractError"]
