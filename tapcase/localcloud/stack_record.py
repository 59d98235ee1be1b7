"""CloudFormation's record of the locally deployed stack, so ``DescribeStacks`` finds it by name.

The local deployer creates each resource through its own service's API, not through moto's
CloudFormation (which cannot run a SAM template). A client that finds the stack the way it does on
AWS (``describe_stacks(StackName=...)``: its outputs and parameter values, ``tapcase investigate
--stack``) needs CloudFormation to know it: the stack is registered there with the deployed
template's parameter values and evaluated outputs (and one placeholder resource: CloudFormation
stacks hold at least one). ``DescribeStackResource`` does not list the deployed resources.
"""

from __future__ import annotations

import json
import warnings
from typing import Any


def record_stack(cloud: Any, stack: Any) -> None:
    """Register ``stack`` (a deployed :class:`~tapcase.localcloud.stack_model.Stack`) in CloudFormation."""
    template = {
        "Description": f"tapcase stack {stack.name}, deployed by the local cloud",
        "Parameters": {
            name: {"Type": "String", "Default": ",".join(value) if isinstance(value, list) else str(value)}
            for name, value in sorted(stack.parameters.items())
        },
        "Resources": {"LocalDeployment": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {name: {"Value": str(value)} for name, value in sorted(stack.outputs.items())},
    }
    with warnings.catch_warnings():  # moto only records the placeholder resource, and says so
        warnings.simplefilter("ignore", UserWarning)
        cloud.client("cloudformation").create_stack(StackName=stack.name, TemplateBody=json.dumps(template))
