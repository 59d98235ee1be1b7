"""Deploys ``template.yaml`` into the local cloud, resource by resource, in dependency order.

Each resource type the template uses is created through the same boto3 API CloudFormation would
call, so the result is what the local services hold, not a record of intentions. Lambda functions
are created with a placeholder archive: their code is this checkout's ``functions/`` package, run
in-process by :mod:`tapcase.localcloud.lambda_runtime` from each function's ``Handler``. IAM
policies are created but not enforced (moto does not evaluate them); cfn-lint and the coherence
tests check them statically.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Protocol

from tapcase.localcloud.cfn import (
    Evaluator,
    TemplateError,
    check_rules,
    load_template,
    references,
    resolve_parameters,
    substitute_definition,
)
from tapcase.localcloud.custom_resources import CustomResourceFailed, is_custom, send_request
from tapcase.localcloud.deploy_events import EventResources
from tapcase.localcloud.deploy_storage import StorageResources
from tapcase.localcloud.stack_model import Deployed, Stack, tags_list


class CloudClients(Protocol):
    """What a deployment needs of its cloud (``LocalCloud``; not imported: ``cloud`` imports ``deploy``)."""

    account_id: str
    region: str

    def client(self, service: str, region: str | None = None) -> Any: ...


DEFAULT_STACK_NAME = "tapcase"
_ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
_ASSUME_STATES = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _placeholder_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "README.txt",
            "tapcase local cloud: this function's code runs in-process from the checkout's functions/ package.\n",
        )
    return buf.getvalue()


class Deployer(EventResources, StorageResources):
    def __init__(self, cloud: CloudClients, template_path: Path, parameters: dict[str, Any], stack_name: str) -> None:
        self.cloud = cloud
        self.template_path = template_path
        self.template = load_template(template_path)
        self.account = cloud.account_id
        self.region = cloud.region
        self.stack = Stack(name=stack_name, template_path=template_path,
                           stack_id=f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{stack_name}/local")
        self.stack.parameters = resolve_parameters(self.template, parameters)
        self.evaluator = Evaluator(
            pseudo={
                "AWS::Region": self.region,
                "AWS::AccountId": self.account,
                "AWS::StackName": stack_name,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackId": self.stack.stack_id,
            },
            parameters=self.stack.parameters,
            conditions=self.template.get("Conditions", {}),
            ref=self.stack.ref,
            get_att=self.stack.get_att,
            mappings=self.template.get("Mappings") or {},
        )
        check_rules(self.template, self.evaluator)

    # -- order ---------------------------------------------------------------------------------
    def _order(self) -> list[str]:
        resources = self.template["Resources"]
        graph: dict[str, set[str]] = {}
        globals_fn = self.template.get("Globals", {}).get("Function", {})
        for logical_id, resource in resources.items():
            refs = references(resource)
            if resource["Type"] == "AWS::Serverless::Function":
                refs |= references(globals_fn)
            deps = {d for d in refs if d in resources}
            depends_on = resource.get("DependsOn", [])
            deps |= set([depends_on] if isinstance(depends_on, str) else depends_on)
            graph[logical_id] = deps - {logical_id}
        try:
            return list(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            raise TemplateError(f"dependency cycle in template: {exc.args[1]}") from exc

    # -- deploy --------------------------------------------------------------------------------
    def deploy(self) -> Stack:
        """Create every resource; when one fails, roll back (delete what was created, reverse order,
        ``DeletionPolicy: Retain`` kept) and raise, as CloudFormation's CREATE_FAILED → ROLLBACK_COMPLETE."""
        try:
            return self._create_all()
        except Exception:
            from tapcase.localcloud.undeploy import StackDeletionFailed, delete_stack

            try:
                delete_stack(self.cloud, self.stack)
            except StackDeletionFailed:
                pass  # ROLLBACK_FAILED: the creation's error is the one to report
            raise

    def _create_all(self) -> Stack:
        resources = self.template["Resources"]
        globals_fn = self.template.get("Globals", {}).get("Function", {})
        for logical_id in self._order():
            resource = resources[logical_id]
            if "Condition" in resource and not self.evaluator.condition(resource["Condition"]):
                continue
            rtype = resource["Type"]
            props = resource.get("Properties", {}) or {}
            if rtype == "AWS::Serverless::Function":
                props = _merge(globals_fn, props)
            evaluated = self.evaluator.evaluate(props)
            if is_custom(rtype):
                deployed = self._custom(logical_id, rtype, evaluated)
            else:
                handler = getattr(self, "_" + rtype.replace("::", "_"), None)
                if handler is None:
                    raise TemplateError(f"{logical_id}: resource type {rtype} is not supported by the local deployer")
                deployed = handler(logical_id, evaluated)
            deployed.properties = evaluated
            deployed.deletion_policy = str(resource.get("DeletionPolicy", "Delete"))
            self.stack.resources[logical_id] = deployed
        for name, output in (self.template.get("Outputs") or {}).items():
            if "Condition" in output and not self.evaluator.condition(output["Condition"]):
                continue
            self.stack.outputs[name] = self.evaluator.evaluate(output["Value"])
        from tapcase.localcloud.stack_record import record_stack

        record_stack(self.cloud, self.stack)
        return self.stack

    def _name(self, logical_id: str, explicit: str | None = None, lower: bool = False) -> str:
        name = explicit or f"{self.stack.name}-{logical_id}"
        return name.lower() if lower else name

    def _arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    def _custom(self, logical_id: str, rtype: str, props: dict[str, Any]) -> Deployed:
        """A custom resource: CloudFormation's Create request to its ServiceToken function
        (:mod:`tapcase.localcloud.custom_resources`); its ``Data`` are its attributes."""
        try:
            answer = send_request(self.cloud.client("lambda"), stack_id=self.stack.stack_id, logical_id=logical_id,
                                  resource_type=rtype, properties=props, request_type="Create")
        except CustomResourceFailed as exc:
            raise TemplateError(str(exc)) from exc
        return Deployed(logical_id, rtype, answer["PhysicalResourceId"], dict(answer.get("Data") or {}))

    # -- resource types ------------------------------------------------------------------------
    def _AWS_SQS_Queue(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        sqs = self.cloud.client("sqs")
        name = self._name(logical_id, props.get("QueueName"))
        attrs = {
            k: str(v) for k, v in props.items()
            if k in {"VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
                     "DelaySeconds", "MaximumMessageSize", "SqsManagedSseEnabled", "FifoQueue"}
        }
        if "RedrivePolicy" in props:
            attrs["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Deployed(logical_id, "AWS::SQS::Queue", url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _AWS_DynamoDB_Table(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        ddb = self.cloud.client("dynamodb")
        name = self._name(logical_id, props.get("TableName"))
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if kwargs["BillingMode"] == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        if "SSESpecification" in props:
            kwargs["SSESpecification"] = {"Enabled": bool(props["SSESpecification"].get("SSEEnabled"))}
        arn = ddb.create_table(**kwargs)["TableDescription"]["TableArn"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": bool(ttl["Enabled"]), "AttributeName": ttl["AttributeName"]},
            )
        return Deployed(logical_id, "AWS::DynamoDB::Table", name, {"Arn": arn})

    def _AWS_SNS_Topic(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        sns = self.cloud.client("sns")
        name = self._name(logical_id, props.get("TopicName"))
        arn = sns.create_topic(Name=name)["TopicArn"]
        for sub in props.get("Subscription", []) or []:
            sns.subscribe(TopicArn=arn, Protocol=sub["Protocol"], Endpoint=sub["Endpoint"])
        return Deployed(logical_id, "AWS::SNS::Topic", arn, {"TopicArn": arn, "TopicName": name})

    def _AWS_Logs_LogGroup(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        logs = self.cloud.client("logs")
        name = self._name(logical_id, props.get("LogGroupName"))
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        return Deployed(logical_id, "AWS::Logs::LogGroup", name, {"Arn": self._arn("logs", f"log-group:{name}:*")})

    def _role(self, logical_id: str, assume: dict[str, Any], policies: list[Any], managed: list[str],
              max_session: Any = None, role_name: str | None = None, path: str | None = None) -> str:
        iam = self.cloud.client("iam")
        name = role_name or f"{self.stack.name}-{logical_id}"[:64]
        extra: dict[str, Any] = {"MaxSessionDuration": int(max_session)} if max_session is not None else {}
        if path:
            extra["Path"] = str(path)  # the role's ARN then holds it: arn:...:role<path><name>
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(assume), **extra)["Role"]["Arn"]
        for i, policy in enumerate(policies):
            iam.put_role_policy(
                RoleName=name, PolicyName=policy.get("PolicyName", f"policy{i}"),
                PolicyDocument=json.dumps(policy["PolicyDocument"]),
            )
        for policy_arn in managed:
            # AWS-managed policies are not loaded into the local IAM; the account's own are attached.
            if policy_arn.startswith(f"arn:aws:iam::{self.account}:"):
                iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        return arn

    def _AWS_IAM_Role(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        arn = self._role(
            logical_id, props["AssumeRolePolicyDocument"], props.get("Policies", []), props.get("ManagedPolicyArns", []),
            props.get("MaxSessionDuration"), props.get("RoleName"), props.get("Path"),
        )
        name = arn.rsplit("/", 1)[-1]
        return Deployed(logical_id, "AWS::IAM::Role", name, {"Arn": arn, "RoleId": name})

    def _AWS_IAM_InstanceProfile(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        iam = self.cloud.client("iam")
        name = self._name(logical_id, props.get("InstanceProfileName"))
        arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
        for role in props.get("Roles", []):
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
        return Deployed(logical_id, "AWS::IAM::InstanceProfile", name, {"Arn": arn})

    def _sam_policies(self, props: dict[str, Any]) -> list[dict[str, Any]]:
        """SAM ``Policies``: inline statements are kept; policy templates are recorded by name."""
        policies = props.get("Policies") or []
        if isinstance(policies, (str, dict)):
            policies = [policies]
        out: list[dict[str, Any]] = []
        for i, p in enumerate(policies):
            if isinstance(p, dict) and "Statement" in p:
                out.append({"PolicyName": f"inline{i}", "PolicyDocument": {"Version": "2012-10-17", **p}})
            elif isinstance(p, dict):
                # A SAM policy template such as {S3CrudPolicy: {BucketName: ...}}.
                (tname, targs), = p.items()
                out.append({
                    "PolicyName": f"{tname}{i}",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Sid": tname, "Effect": "Allow", "Action": "none:SamPolicyTemplate",
                                       "Resource": "*", "Condition": {"StringEquals": {"sam:args": json.dumps(targs)}}}],
                    },
                })
        return out

    def _AWS_Serverless_Function(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        lam = self.cloud.client("lambda")
        name = self._name(logical_id, props.get("FunctionName"))
        code_uri = props.get("CodeUri")
        if code_uri is None:
            raise TemplateError(f"{logical_id}: no CodeUri")
        role = props.get("Role") or self._role(logical_id, _ASSUME_LAMBDA, self._sam_policies(props), [],
                                               path=props.get("RolePath"))
        from tapcase.localcloud.lambda_runtime import handler_importable

        handler_importable(props["Handler"])  # fail the deployment early if there is no such module
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": props.get("Runtime", "python3.11"),
            "Role": role,
            "Handler": props["Handler"],
            "Code": {"ZipFile": _placeholder_zip()},
            "Timeout": int(props.get("Timeout", 3)),
            "MemorySize": int(props.get("MemorySize", 128)),
            "Architectures": props.get("Architectures", ["x86_64"]),
            "Tags": {str(k): str(v) for k, v in (props.get("Tags") or {}).items()},
        }
        variables = (props.get("Environment") or {}).get("Variables") or {}
        if variables:
            kwargs["Environment"] = {"Variables": {k: str(v) for k, v in variables.items()}}
        if props.get("Description"):
            kwargs["Description"] = props["Description"]
        arn = lam.create_function(**kwargs)["FunctionArn"]
        return Deployed(logical_id, "AWS::Serverless::Function", name, {"Arn": arn})

    def _AWS_Serverless_StateMachine(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        sfn = self.cloud.client("stepfunctions")
        name = self._name(logical_id, props.get("Name"))
        if "DefinitionUri" in props:
            text = (self.template_path.parent / props["DefinitionUri"]).read_text(encoding="utf-8")
        elif "Definition" in props:
            text = json.dumps(props["Definition"])
        else:
            raise TemplateError(f"{logical_id}: no Definition or DefinitionUri")
        substitutions = props.get("DefinitionSubstitutions") or {}
        text = substitute_definition(text, substitutions, logical_id)
        json.loads(text)  # the substituted definition must still be JSON
        role = props.get("Role") or self._role(logical_id, _ASSUME_STATES, self._sam_policies(props), [],
                                               path=props.get("RolePath"))
        kwargs: dict[str, Any] = {"name": name, "definition": text, "roleArn": role, "type": props.get("Type", "STANDARD")}
        if props.get("Tags"):
            kwargs["tags"] = [{"key": k, "value": str(v)} for k, v in props["Tags"].items()]
        arn = sfn.create_state_machine(**kwargs)["stateMachineArn"]
        return Deployed(logical_id, "AWS::Serverless::StateMachine", arn, {"Arn": arn, "Name": name})

    def _AWS_Glue_Database(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        glue = self.cloud.client("glue")
        db_input = dict(props["DatabaseInput"])
        db_input.setdefault("Name", self._name(logical_id, lower=True).replace("-", "_"))
        glue.create_database(CatalogId=self.account, DatabaseInput=db_input)
        return Deployed(logical_id, "AWS::Glue::Database", db_input["Name"], {})

    def _AWS_Glue_Table(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        glue = self.cloud.client("glue")
        table_input = props["TableInput"]
        glue.create_table(DatabaseName=props["DatabaseName"], TableInput=table_input)
        return Deployed(logical_id, "AWS::Glue::Table", table_input["Name"], {})

    def _AWS_Athena_WorkGroup(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        athena = self.cloud.client("athena")
        name = props["Name"]
        kwargs: dict[str, Any] = {"Name": name}
        if "WorkGroupConfiguration" in props:
            kwargs["Configuration"] = props["WorkGroupConfiguration"]
        if props.get("Description"):
            kwargs["Description"] = props["Description"]
        if props.get("Tags"):
            kwargs["Tags"] = tags_list(props["Tags"])
        athena.create_work_group(**coerce_to_api(athena, "CreateWorkGroup", kwargs))
        return Deployed(logical_id, "AWS::Athena::WorkGroup", name, {})

    def _AWS_EC2_LaunchTemplate(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        ec2 = self.cloud.client("ec2")
        name = self._name(logical_id, props.get("LaunchTemplateName"))
        data = props["LaunchTemplateData"]
        lt = ec2.create_launch_template(
            **coerce_to_api(ec2, "CreateLaunchTemplate", {"LaunchTemplateName": name, "LaunchTemplateData": data})
        )["LaunchTemplate"]
        return Deployed(
            logical_id, "AWS::EC2::LaunchTemplate", lt["LaunchTemplateId"],
            {
                "LaunchTemplateId": lt["LaunchTemplateId"],
                "LatestVersionNumber": str(lt["LatestVersionNumber"]),
                "DefaultVersionNumber": str(lt["DefaultVersionNumber"]),
            },
        )

    def _AWS_Lambda_Permission(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        lam = self.cloud.client("lambda")
        kwargs = {"FunctionName": props["FunctionName"], "StatementId": logical_id, "Action": props["Action"],
                  "Principal": props["Principal"]}
        if "SourceArn" in props:
            kwargs["SourceArn"] = props["SourceArn"]
        lam.add_permission(**kwargs)
        return Deployed(logical_id, "AWS::Lambda::Permission", logical_id, {})


def coerce_to_api(client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation passes parameters as strings; coerce them to the API's numbers and booleans,
    following the operation's input shape in botocore's model."""
    model = client.meta.service_model.operation_model(operation).input_shape

    def walk(shape: Any, value: Any) -> Any:
        if shape is None:
            return value
        kind = shape.type_name
        if kind == "structure" and isinstance(value, dict):
            return {k: walk(shape.members.get(k), v) for k, v in value.items()}
        if kind == "list" and isinstance(value, list):
            return [walk(shape.member, v) for v in value]
        if kind == "map" and isinstance(value, dict):
            return {k: walk(shape.value, v) for k, v in value.items()}
        if kind in {"integer", "long"} and isinstance(value, str):
            return int(value)
        if kind in {"float", "double"} and isinstance(value, str):
            return float(value)
        if kind == "boolean" and isinstance(value, str):
            return value.lower() == "true"
        return value

    return walk(model, params)


def deploy_template(
    cloud: CloudClients, template_path: str | Path, parameters: dict[str, Any] | None = None,
    stack_name: str = DEFAULT_STACK_NAME,
) -> Stack:
    return Deployer(cloud, Path(template_path), dict(parameters or {}), stack_name).deploy()
