"""Where the stack is: a region of AWS, or an endpoint (``tapcase local serve``), and its name.

The stack is found as on AWS: ``DescribeStacks`` gives its outputs (the state machine, the bucket,
the schedule group and role) and its parameter values (the capture cap, checked before starting).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tapcase.remote.errors import UNAVAILABLE, CliError, translated

DEFAULT_STACK = "tapcase"
#: A local cloud serves one region; clients of it may name any.
LOCAL_REGION = "us-east-1"


@dataclass
class Target:
    endpoint: str | None = None
    region: str | None = None
    stack: str = DEFAULT_STACK
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _description: dict[str, Any] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, endpoint: str | None, region: str | None, stack: str | None) -> Target:
        endpoint = endpoint or os.environ.get("TAPCASE_ENDPOINT") or None
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise CliError(f"--endpoint {endpoint!r} is not a URL", "give it as http://HOST:PORT")
        return cls(endpoint=endpoint.rstrip("/") if endpoint else None, region=region,
                   stack=stack or os.environ.get("TAPCASE_STACK") or DEFAULT_STACK)

    @property
    def where(self) -> str:
        return self.endpoint or f"AWS ({self.region_name})"

    @property
    def region_name(self) -> str:
        import boto3

        region = self.region or (LOCAL_REGION if self.endpoint else boto3.session.Session().region_name)
        if not region:
            raise CliError("no AWS region given", "pass --region or set AWS_REGION")
        return str(region)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            kwargs: dict[str, Any] = {"region_name": self.region_name,
                                      "config": Config(retries={"max_attempts": 3, "mode": "standard"},
                                                       connect_timeout=5, read_timeout=60)}
            if self.endpoint:
                kwargs["endpoint_url"] = self.endpoint
                if boto3.session.Session().get_credentials() is None:  # a local cloud takes any
                    kwargs.update(aws_access_key_id="local", aws_secret_access_key="local")
            self._clients[service] = boto3.client(service, **kwargs)
        return self._clients[service]

    def _describe(self) -> dict[str, Any]:
        if self._description is None:
            from botocore.exceptions import ClientError

            with translated(self.endpoint):
                try:
                    stacks = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"]
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") == "ValidationError":
                        raise CliError(f"no stack {self.stack!r} at {self.where}",
                                       "deploy it (sam deploy, README) or name it with --stack", UNAVAILABLE) from None
                    raise
            self._description = stacks[0]
        return self._description

    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self._describe().get("Outputs") or []}

    def parameters(self) -> dict[str, str]:
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in self._describe().get("Parameters") or []}

    def output(self, key: str) -> str:
        value = self.outputs().get(key)
        if not value:
            raise CliError(f"stack {self.stack!r} has no output {key}",
                           "is it a tapcase stack of this version? redeploy it", UNAVAILABLE)
        return value

    @property
    def state_machine_arn(self) -> str:
        return self.output("InvestigationStateMachineArn")

    def execution_arn(self, execution: str) -> str:
        """An execution's ARN from its ARN or its name."""
        if execution.startswith("arn:"):
            return execution
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution}"

    def console_url(self, execution_arn: str) -> str | None:
        if self.endpoint:
            return None
        region = self.region_name
        return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"
