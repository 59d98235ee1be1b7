"""Least privilege, proven: every API call the stack makes is derived from its code -- the ASL's Task
states (each integration's documented IAM needs, ``.sync`` included), each function's modules and
the sensor agent's modules -- and each IAM role of the template *as deployed* (SAM's transform
applied with aws-sam-translator: the functions' generated roles, the policy templates expanded,
SAM's managed policies attached) must allow exactly those actions: a permission removed fails
(the call would be denied), an extra one or a wildcard fails too.

Sources of the rules (AWS documentation):

* Step Functions, "IAM policies for Amazon Athena" (athena-iam.html): the policy Step Functions
  generates for ``athena:startQueryExecution.sync``; "IAM policies for AWS Lambda / DynamoDB / SQS":
  ``lambda:InvokeFunction``, ``dynamodb:PutItem``, ``sqs:SendMessage`` (``.waitForTaskToken`` adds no
  permission); AWS SDK integrations call the API of the same name.
* EC2 (Service Authorization Reference, "Grant permission to tag resources during creation"):
  ``TagSpecifications`` on a create call needs ``ec2:CreateTags`` (conditioned on ``ec2:CreateAction``);
  launching with an instance profile needs ``iam:PassRole`` on its role.
* SQS, CreateQueue: "To add tags to a queue on creation you need sqs:CreateQueue and sqs:TagQueue".
* S3 "Protecting data with SSE-KMS": reading an SSE-KMS object needs ``kms:Decrypt``; writing one
  needs ``kms:GenerateDataKey``, a multipart upload also ``kms:Decrypt``. S3 GetObject: without
  ``s3:ListBucket`` a missing key answers 403 AccessDenied instead of 404 NoSuchKey.
* STS "Pass session tags in AWS STS", permissions required: AssumeRole with ``Tags`` also needs
  ``sts:TagSession``.
* Credentials handed over: a ``client(...)`` made with explicit ``aws_session_token`` signs with
  credentials the code was given or assumed, not with its own role's: its calls are that role's
  (the sensor's uploads: ``EvidenceUploadRole``, assumed by ``CollectEvidenceFunction``; its
  answers to task tokens: ``SensorAnswerRole``, assumed by the sensor, ``tapcase_sensor.answers``).
* Operations whose IAM action has another name: ListObjectsV2 -> s3:ListBucket; CreateMultipartUpload
  and UploadPart -> s3:PutObject (S3 "Multipart upload API and permissions").
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from tapcase.localcloud.cfn import load_template
from tapcase_workflow.dal.clients import MEMBER_SERVICES
from tests.conftest import REPO
from tests.test_template import FUNCTIONS, RESOURCES, STATE_MACHINES, TEMPLATE, _states

SOURCE_ROOTS = [REPO / "functions", REPO / "sensor_image" / "agent"]
OWN_PACKAGES = ("tapcase_workflow", "tapcase_contract", "tapcase_sensor")
SENSOR_CLI = REPO / "sensor_image" / "agent" / "tapcase_sensor" / "cli.py"
#: The command a sensor fleet's member runs (sensor_image/fleet/fleet.yaml, its MemberRole); every
#: other command of ``tapcase-sensor`` is the investigation's own sensor's (SensorRole).
FLEET_COMMANDS = ("cmd_fleet",)
FLEET = load_template(REPO / "sensor_image" / "fleet" / "fleet.yaml")


def _sensor_commands() -> list[str]:
    """The ``tapcase-sensor`` commands a dedicated sensor can run: every ``cmd_*`` of the CLI but
    the fleet's (found in the code: a command added later is derived too)."""
    tree = ast.parse(SENSOR_CLI.read_text())
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("cmd_")]
    assert set(FLEET_COMMANDS) <= set(names), names
    return [f"tapcase_sensor.cli.{n}" for n in names if n not in FLEET_COMMANDS]

# -- what the ASL's integrations need -------------------------------------------------------------

#: Optimized integrations -> the actions Step Functions documents for them.
INTEGRATIONS = {
    "arn:aws:states:::lambda:invoke": {"lambda:InvokeFunction"},
    "arn:aws:states:::lambda:invoke.waitForTaskToken": {"lambda:InvokeFunction"},
    "arn:aws:states:::dynamodb:putItem": {"dynamodb:PutItem"},
    "arn:aws:states:::dynamodb:deleteItem": {"dynamodb:DeleteItem"},
    "arn:aws:states:::dynamodb:updateItem": {"dynamodb:UpdateItem"},
    # stepfunctions-iam.html, StartExecution "Synchronous": the child executions, and the managed
    # rule the .sync integration follows them with
    "arn:aws:states:::states:startExecution.sync:2": {
        "states:StartExecution", "states:DescribeExecution", "states:StopExecution",
        "events:PutTargets", "events:PutRule", "events:DescribeRule",
    },
    "arn:aws:states:::sqs:sendMessage.waitForTaskToken": {"sqs:SendMessage"},
    # athena-iam.html, StartQueryExecution, "Run a Job (.sync)", as Step Functions generates it
    "arn:aws:states:::athena:startQueryExecution.sync": {
        "athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution",
        "athena:GetDataCatalog",
        "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads",
        "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload", "s3:CreateBucket", "s3:PutObject",
        "glue:CreateDatabase", "glue:GetDatabase", "glue:GetDatabases", "glue:UpdateDatabase",
        "glue:DeleteDatabase", "glue:CreateTable", "glue:UpdateTable", "glue:GetTable", "glue:GetTables",
        "glue:DeleteTable", "glue:BatchDeleteTable", "glue:BatchCreatePartition", "glue:CreatePartition",
        "glue:UpdatePartition", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
        "glue:DeletePartition", "glue:BatchDeletePartition", "lakeformation:GetDataAccess",
    },
}
#: What the generated policy grants that this stack does not need, and why.
NARROWED = {
    "s3:CreateBucket": "the results location is a prefix of the stack's own bucket",
    "lakeformation:GetDataAccess": "the tables are not governed by Lake Formation",
    **{f"glue:{a}": "the query pack only runs SELECT: no DDL, no catalog writes (partition projection)"
       for a in ("CreateDatabase", "UpdateDatabase", "DeleteDatabase", "CreateTable", "UpdateTable",
                 "DeleteTable", "BatchDeleteTable", "BatchCreatePartition", "CreatePartition",
                 "UpdatePartition", "DeletePartition", "BatchDeletePartition", "GetDatabases", "GetTables",
                 "GetPartition", "BatchGetPartition")},
}
#: The evidence bucket is SSE-KMS with the stack's key: the S3 actions that touch objects need it.
KMS_FOR = {"s3:GetObject": {"kms:Decrypt"}, "s3:PutObject": {"kms:GenerateDataKey"}}
#: Operations whose IAM action has another name.
ACTION_OF = {"s3:ListObjectsV2": "s3:ListBucket", "s3:HeadObject": "s3:GetObject",
             "s3:CreateMultipartUpload": "s3:PutObject", "s3:UploadPart": "s3:PutObject",
             "s3:CompleteMultipartUpload": "s3:PutObject"}


def _norm(action: str) -> str:
    service, name = action.split(":", 1)
    return f"{service.lower()}:{name[0].upper()}{name[1:]}"


def asl_actions(definition: dict[str, Any], launch_template_has_profile: bool,
                credentials: bool | None = None) -> set[str]:
    """What the definition's tasks call; ``credentials``: only the tasks with (True) or without
    (False) a ``Credentials`` field (None: all)."""
    needed: set[str] = set()
    for state in _states(definition).values():
        if state["Type"] != "Task":
            continue
        if credentials is not None and ("Credentials" in state) != credentials:
            continue
        resource, params = state["Resource"], state.get("Parameters") or {}
        if resource.startswith("arn:aws:states:::aws-sdk:"):
            service, api = resource.removeprefix("arn:aws:states:::aws-sdk:").split(":")
            needed.add(_norm(f"{service}:{api}"))
            if service == "ec2" and "TagSpecifications" in params:
                needed.add("ec2:CreateTags")
            if api == "runInstances" and launch_template_has_profile:
                needed.add("iam:PassRole")
            if (service, api) == ("sqs", "createQueue") and any(k.startswith("Tags") for k in params):
                needed.add("sqs:TagQueue")
        else:
            needed |= {_norm(a) for a in INTEGRATIONS[resource]} - set(NARROWED)
    return needed | _kms(needed)


def _kms(actions: Iterable[str]) -> set[str]:
    return {k for a in actions for k in KMS_FOR.get(a, set())}


# -- what the Python code calls -------------------------------------------------------------------


def _module_file(module: str) -> Path | None:
    for root in SOURCE_ROOTS:
        base = root.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def reachable_modules(entry: str) -> dict[str, ast.Module]:
    """The project's modules an entry module imports, transitively (absolute and relative imports)."""
    seen: dict[str, ast.Module] = {}
    todo = [entry]
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if module in seen or path is None:
            continue
        tree = seen[module] = ast.parse(path.read_text())
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")
                    parent = parent[: len(parent) - node.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                todo.append(base)
                todo += [f"{base}.{a.name}" for a in node.names]
        # parents' __init__ run too
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
    return {m: t for m, t in seen.items() if m.startswith(OWN_PACKAGES)}


def _operations() -> dict[str, dict[str, str]]:
    session = botocore.session.get_session()
    found = {}
    for service in ("ec2", "s3", "sqs", "dynamodb", "stepfunctions", "athena", "sns", "glue", "kms", "securityhub",
                    "sts"):
        model = session.get_service_model(service)
        prefix = model.signing_name if service != "stepfunctions" else "states"
        found[service] = {xform_name(op): f"{prefix}:{op}" for op in model.operation_names}
    return found


OPERATIONS = _operations()


class Symbols:
    """Top-level definitions of the project's modules and what each module imports, to follow the
    code from an entry function to every function, class and constant it can reach."""

    def __init__(self, entry_module: str) -> None:
        self.trees = reachable_modules(entry_module)
        self.defs: dict[tuple[str, str], ast.AST] = {}
        self.imports: dict[str, dict[str, tuple[str, str | None]]] = {}
        for module, tree in self.trees.items():
            table: dict[str, tuple[str, str | None]] = {}
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.defs[(module, node.name)] = node
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                        if isinstance(target, ast.Name):
                            self.defs[(module, target.id)] = node
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for a in node.names:
                        table[a.asname or a.name.split(".")[0]] = (a.name if a.asname else a.name.split(".")[0], None)
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        path = _module_file(module)
                        package = module if path and path.name == "__init__.py" else module.rsplit(".", 1)[0]
                        parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                        base = ".".join(parent + ([base] if base else []))
                    for a in node.names:
                        if f"{base}.{a.name}" in self.trees:
                            table[a.asname or a.name] = (f"{base}.{a.name}", None)
                        else:
                            table[a.asname or a.name] = (base, a.name)
            self.imports[module] = table

    def _resolve(self, module: str, name: str) -> tuple[str, str] | None:
        for _ in range(10):  # re-exports
            if (module, name) in self.defs:
                return module, name
            target = self.imports.get(module, {}).get(name)
            if target is None or target[1] is None:
                return None
            module, name = target[0], target[1]
        return None

    def reach(self, module: str, name: str) -> list[ast.AST]:
        """Every definition reachable from ``module.name`` (names, attributes of imported modules)."""
        seen: set[tuple[str, str]] = set()
        todo = [(module, name)]
        nodes = []
        while todo:
            key = todo.pop()
            if key in seen or key not in self.defs:
                continue
            seen.add(key)
            node = self.defs[key]
            nodes.append(node)
            mod = key[0]
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name):
                    found = self._resolve(mod, sub.id)
                    if found:
                        todo.append(found)
                elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                    target = self.imports.get(mod, {}).get(sub.value.id)
                    if target and target[1] is None:
                        todo.append((target[0], sub.attr))
                    elif target:  # an attribute of an imported class
                        found = self._resolve(mod, sub.value.id)
                        if found:
                            todo.append(found)
        return nodes


def code_calls(entry: str, handed: bool = False) -> set[str]:
    """API operations the code reachable from ``entry`` ("package.module.function") can call: the
    services it makes clients for (``client("sqs")``), and every name in that code -- attribute,
    string (paginators, dispatch tables) or keyword argument -- that is one of those services'
    operations. ``handed``: only the services of clients made with credentials the code was
    given (``aws_session_token=``); otherwise only those of its own."""
    module, function = entry.rsplit(".", 1)
    services: set[str] = set()
    names: set[str] = set()
    for tree in Symbols(module).reach(module, function):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
                    and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "client"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                given = any(k.arg == "aws_session_token" for k in node.keywords)
                if given == handed:
                    services.add(node.args[0].value)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
            elif isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
    return {ACTION_OF.get(op, op) for s in services for name, op in OPERATIONS[s].items() if name in names}


#: Calls made knowing they are denied, and why.
DENIED_BY_DESIGN = {
    "MemberRole": {
        "s3:GetObject": "the member's own S3 client only puts coverage logs; the agent's manifest lookup "
                        "(GetObject) runs with the credentials a CollectEvidence hands it",
    },
    "EvidenceUploadRole": {
        "s3:GetObject": "the agent looks for an earlier complete manifest and takes AccessDenied as none: "
                        "the upload credentials only create objects",
    },
}


def code_actions(role: str, *entries: str, handed: bool = False) -> set[str]:
    calls = set().union(*(code_calls(e, handed) for e in entries)) - set(DENIED_BY_DESIGN.get(role, {}))
    needed = calls | _kms(calls)
    text = "\n".join(ast.unparse(t) for e in entries for t in Symbols(e.rsplit(".", 1)[0]).reach(*e.rsplit(".", 1)))
    if "s3:PutObject" in calls and "create_multipart_upload" in text:
        needed |= {"kms:Decrypt", "s3:AbortMultipartUpload"}
    if any(c.startswith("ec2:Create") for c in calls) and "TagSpecifications" in text:
        needed.add("ec2:CreateTags")  # tags on create
    if "s3:GetObject" in calls and "NoSuchKey" in text:
        needed.add("s3:ListBucket")  # a missing key must answer NoSuchKey, not AccessDenied
    if "sts:AssumeRole" in calls and re.search(r"assume_role\(.*\bTags=", text):
        needed.add("sts:TagSession")  # session tags
    return needed


# -- what the template allows ---------------------------------------------------------------------


def role_statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    props = resource["Properties"]
    statements: list[dict[str, Any]] = []
    for policy in props.get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            statements += policy["Statement"]
        elif isinstance(policy, dict) and "PolicyDocument" in policy:
            statements += policy["PolicyDocument"]["Statement"]
        elif isinstance(policy, dict) and set(policy) == {"Fn::If"}:
            # a conditional policy (e.g. HasFlowLogs): checked as deployed with its condition true
            statements += role_statements({"Properties": {"Policies": [policy["Fn::If"][1]]}})
        elif isinstance(policy, dict) and set(policy) == {"LambdaInvokePolicy"}:
            # SAM policy template: lambda:InvokeFunction on that function (and its versions)
            statements.append({"Effect": "Allow", "Action": "lambda:InvokeFunction",
                               "Resource": policy["LambdaInvokePolicy"]["FunctionName"]})
        else:
            raise AssertionError(f"a policy this test cannot read: {policy!r}")
    return statements


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {_norm(a) for s in statements if s["Effect"] == "Allow" for a in _listed(s["Action"])}


def source_roles(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The policy statements as written in template.yaml, by function/state machine/role."""
    res = template["Resources"]
    found = {name: role_statements(r) for name, r in res.items()
             if r["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine", "AWS::IAM::Role")}
    return found


def translated(template: dict[str, Any]) -> dict[str, Any]:
    """The template as CloudFormation deploys it: SAM's transform (aws-sam-translator, the library
    ``sam deploy`` and CloudFormation's AWS::Serverless transform use), code locations replaced by
    the S3 URIs and the inline definition ``sam package`` would put there."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    document = copy.deepcopy(template)
    document.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://packaged/functions.zip"
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in resource["Properties"]:
            path = REPO / resource["Properties"].pop("DefinitionUri")
            resource["Properties"]["Definition"] = json.loads(path.read_text())
    to_py27_compatible_template(document, {})
    # the region only picks the partition (aws) and pseudo-parameter defaults; ARNs keep ${AWS::Region}
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1"))
    # every managed policy here is named by ARN: no lookups of names
    out = translator.translate(document, parameter_values={}, get_managed_policy_map=dict)
    return dict(undo_mark_unicode_str_in_template(out))


def roles(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every IAM role of the translated template, by what assumes it (``PlanFunctionRole`` is
    ``PlanFunction``'s), with all its inline statements."""
    found = {}
    for name, resource in translated(template)["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        owner = name.removesuffix("Role") if name.removesuffix("Role") in template["Resources"] else name
        found[owner] = [st for policy in resource["Properties"].get("Policies", [])
                        for st in _document(policy)["Statement"]]
    return found


def _document(policy: dict[str, Any]) -> dict[str, Any]:
    """A role's inline policy document; a conditional one (``Fn::If``) as deployed with its condition true."""
    if set(policy) == {"Fn::If"}:
        policy = policy["Fn::If"][1]
    return dict(policy["PolicyDocument"])


def managed_policies(template: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, resource in translated(template)["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            owner = name.removesuffix("Role") if name.removesuffix("Role") in template["Resources"] else name
            out[owner] = json.dumps(resource["Properties"].get("ManagedPolicyArns") or [])
    return out


#: The member role (template.yaml, and sensor_image/member/member.yaml in member accounts): what
#: every task touching the suspect's account calls with its credentials.
MEMBER_ROLE = "AccountAccessRole"


def _acts_in_member_account(entry: str) -> bool:
    """Whether the code reachable from a handler acts through the member role (dal.member.acting_in)."""
    module, function = entry.rsplit(".", 1)
    return any(isinstance(n, ast.Name) and n.id == "acting_in"
               for tree in Symbols(module).reach(module, function) for n in ast.walk(tree))


@functools.cache
def derived() -> dict[str, set[str]]:
    needed = {name: code_actions(name, f["Properties"]["Handler"]) for name, f in FUNCTIONS.items()}
    member: set[str] = set()
    for name, function in FUNCTIONS.items():
        if _acts_in_member_account(function["Properties"]["Handler"]):
            moved = {a for a in needed[name] if a.split(":")[0] in MEMBER_SERVICES}
            member |= moved
            needed[name] -= moved
    profile = "IamInstanceProfile" in RESOURCES["SensorLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    for name, machine in STATE_MACHINES.items():
        definition = json.loads((REPO / machine["Properties"]["DefinitionUri"]).read_text())
        needed[name] = asl_actions(definition, profile, credentials=False)
        with_role = asl_actions(definition, profile, credentials=True)
        if with_role:
            needed[name].add("sts:AssumeRole")  # the Credentials role, assumed by the execution role
        member |= with_role
    needed[MEMBER_ROLE] = member
    needed["SensorRole"] = code_actions("SensorRole", *_sensor_commands())
    # the sensor fleet's members (sensor_image/fleet/fleet.yaml): the fleet command only
    fleet = [f"tapcase_sensor.cli.{c}" for c in FLEET_COMMANDS]
    needed["MemberRole"] = code_actions("MemberRole", *fleet)
    # what a sensor or a fleet member does with credentials it did not have: the ones CollectEvidence
    # hands it (S3, and KMS for the bucket's key) and the answer role's session (Step Functions)
    handed = code_actions("EvidenceUploadRole", *_sensor_commands(), *fleet, handed=True)
    needed["EvidenceUploadRole"] = {a for a in handed if a.startswith(("s3:", "kms:"))}
    needed["SensorAnswerRole"] = {a for a in handed if a.startswith("states:")}
    assert handed == needed["EvidenceUploadRole"] | needed["SensorAnswerRole"], handed
    # EventBridge starting the state machine (the rule's target role): states:StartExecution
    needed["TriggerRole"] = {"states:StartExecution"}
    # EventBridge Scheduler starting the state machine (the schedule's target role)
    needed["SchedulerRole"] = {"states:StartExecution"}
    return needed


#: Actions without resource-level permissions (Service Authorization Reference: no resource type),
#: the only ones that may be granted on Resource "*" without a tag condition.
NO_RESOURCE_TYPE = {
    "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeTrafficMirrorSessions", "ec2:DescribeTrafficMirrorTargets",
    "ec2:DescribeTrafficMirrorFilters", "ec2:DescribeSecurityGroups", "sqs:ListQueues",
    # the task token is the authorization: these actions have no resource type
    "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat",
}
TAG_CONDITIONS = ("aws:RequestTag/tapcase:investigation-id", "aws:ResourceTag/tapcase:investigation-id",
                  "aws:RequestTag/tapcase:coverage", "aws:ResourceTag/tapcase:coverage", "ec2:CreateAction")
#: EC2 resource types that are not tapcase's own: named by type, never conditioned by tapcase's tag.
#: Session Manager access for the sensor (the only way in): AWS's managed policy for SSM's agent.
SSM_CORE = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}
#: The only managed policies: SSM's for the sensor; SAM's default for every function (CloudWatch
#: Logs: CreateLogGroup, CreateLogStream, PutLogEvents).
MANAGED = {
    "SensorRole": [SSM_CORE],
    **{name: ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"] for name in FUNCTIONS},
}
NOT_OURS = ("vpc/", "subnet/", "image/", "launch-template/", "network-interface/", "traffic-mirror-filter-rule/",
            "traffic-mirror-target/${FleetTargetId}")  # the sensor fleet's target: the fleet stack's


def problems(template: dict[str, Any]) -> list[str]:
    """Everything that breaks least privilege in ``template`` (empty: every role is exact)."""
    found = []
    for role, statements in roles(template).items():
        found += role_problems(role, statements)
    for role, managed in managed_policies(template).items():
        if managed != json.dumps(MANAGED.get(role, [])):
            found.append(f"{role}: managed policies {managed}")
    return found


def fleet_problems(fleet: dict[str, Any]) -> list[str]:
    """The same for the sensor fleet's template (plain CloudFormation: its roles as written)."""
    found = []
    for role, resource in fleet["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        statements = [st for policy in resource["Properties"].get("Policies", []) for st in _document(policy)["Statement"]]
        found += role_problems(role, statements)
        managed = resource["Properties"].get("ManagedPolicyArns") or []
        if managed != [SSM_CORE]:  # Session Manager only, as the investigation's own sensor
            found.append(f"{role}: managed policies {managed}")
    return found


def role_problems(role: str, statements: list[dict[str, Any]]) -> list[str]:
    """What breaks least privilege in one role's statements, against what its code calls."""
    found = []
    need = derived()
    allowed = allowed_actions(statements)
    for action in sorted(need[role] - allowed):
        found.append(f"{role}: {action} is called but not allowed")
    for action in sorted(allowed - need[role]):
        found.append(f"{role}: {action} is allowed but never called")
    for s in statements:
        conditioned = any(key in json.dumps(s.get("Condition", {})) for key in TAG_CONDITIONS)
        actions = {_norm(a) if "*" not in a else a for a in _listed(s["Action"])}
        for action in actions:
            if "*" in action:
                found.append(f"{role}: wildcard action {action}")
        if "*" in _listed(s.get("Resource")) and not conditioned:
            for action in sorted(actions - NO_RESOURCE_TYPE):
                found.append(f"{role}: {action} on Resource '*' without a tag condition")
        for action in actions:
            mutating = action.startswith("ec2:") and not action.startswith("ec2:Describe")
            if mutating and not conditioned:
                foreign = [r for r in _listed(s.get("Resource")) if not any(t in json.dumps(r) for t in NOT_OURS)]
                if foreign:
                    found.append(f"{role}: {action} on tapcase's resources without a tag condition: {foreign}")
    return found


def test_every_role_allows_exactly_what_its_code_calls():
    assert problems(TEMPLATE) == []


def test_the_fleet_members_role_allows_exactly_what_fleet_mode_calls():
    """sensor_image/fleet/fleet.yaml's MemberRole: derived from ``tapcase-sensor fleet`` (putting a
    message back for the member holding its VNI: sqs:ChangeMessageVisibility) as SensorRole is from
    the dedicated sensor's commands; no S3 or KMS permission (its uploads use the credentials each
    CollectEvidence message carries)."""
    assert "sqs:ChangeMessageVisibility" in derived()["MemberRole"]
    assert "sqs:ChangeMessageVisibility" not in derived()["SensorRole"]
    assert fleet_problems(FLEET) == []


@pytest.mark.parametrize("action", ["sqs:ChangeMessageVisibility", "states:SendTaskHeartbeat"])
def test_removing_a_fleet_members_permission_fails(action):
    fleet = copy.deepcopy(FLEET)
    for st in fleet["Resources"]["MemberRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        st["Action"] = [a for a in _listed(st["Action"]) if a != action] or ["sqs:ListQueues"]
    assert f"MemberRole: {action} is called but not allowed" in fleet_problems(fleet)


def test_the_derivation_finds_the_calls_it_must():
    """Guards the derivation itself: known calls of each kind are found (an AST walk that found
    nothing would make the exactness check vacuous)."""
    need = derived()
    assert {"athena:StartQueryExecution", "lambda:InvokeFunction", "glue:GetTable", "kms:Decrypt",
            "sts:AssumeRole"} <= need["InvestigationStateMachine"]
    assert not {a for a in need["InvestigationStateMachine"] if a.startswith(("ec2:", "sqs:", "iam:"))}
    # what the tasks with Credentials and the functions acting in the suspect's account call
    assert {"ec2:RunInstances", "iam:PassRole", "ec2:CreateTags", "sqs:TagQueue", "sqs:SendMessage",
            "ec2:CreateTrafficMirrorFilter", "ec2:DescribeInstances", "ec2:TerminateInstances",
            "sqs:DeleteQueue"} <= need[MEMBER_ROLE]
    assert not {a for a in need[MEMBER_ROLE] if not a.startswith(("ec2:", "sqs:", "iam:PassRole"))}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sts:AssumeRole"} <= need["SensorRole"]
    assert not {a for a in need["SensorRole"] if a.startswith(("s3:", "kms:", "states:"))}
    assert {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"} == need["SensorAnswerRole"]
    # a fleet member answers with its own role (the fleet is the stack's account's)
    assert {"states:SendTaskSuccess", "states:SendTaskHeartbeat"} <= need["MemberRole"]
    assert {"s3:PutObject", "s3:AbortMultipartUpload", "kms:GenerateDataKey", "kms:Decrypt"} == need["EvidenceUploadRole"]
    assert {"sts:AssumeRole", "sts:TagSession"} == need["CollectEvidenceFunction"]
    assert {"sts:AssumeRole", "dynamodb:DeleteItem", "states:GetExecutionHistory"} <= need["TeardownFunction"]
    # every function acts in a suspect's account through the member role; coverage mode alone acts
    # in the stack's own account (the fleet's), its EC2 permissions conditioned on the coverage tag
    assert not {a for f in FUNCTIONS if f != "CoverageFunction" for a in need[f] if a.startswith(("ec2:", "sqs:"))}
    assert {"states:ListExecutions", "dynamodb:Scan"} <= need["JanitorFunction"]
    assert set(NARROWED) <= INTEGRATIONS["arn:aws:states:::athena:startQueryExecution.sync"]


def _statement(template: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    return next(s for s in source_roles(template)[role] if s.get("Sid") == sid)


@pytest.mark.parametrize("role, sid, action", [
    ("SensorRole", "ControlQueues", "sqs:ReceiveMessage"),
    ("SensorRole", "AnswerThroughTheStacksRole", "sts:AssumeRole"),
    ("SensorAnswerRole", "AnswerTaskTokens", "states:SendTaskSuccess"),
    ("EvidenceUploadRole", "WriteOneInvestigationsEvidence", "s3:PutObject"),
    ("CollectEvidenceFunction", "UploadCredentials", "sts:TagSession"),
    ("AccountAccessRole", "DeleteOnlyTaggedResources", "ec2:TerminateInstances"),
    ("AccountAccessRole", "PassOnlyTheSensorRole", "iam:PassRole"),
    ("InvestigationStateMachine", "ActInTheSuspectsAccount", "sts:AssumeRole"),
    ("TeardownFunction", "ActInTheSuspectsAccount", "sts:AssumeRole"),
    ("JanitorFunction", "Locks", "dynamodb:Scan"),
])
def test_removing_a_permission_fails(role, sid, action):
    template = copy.deepcopy(TEMPLATE)
    statement = _statement(template, role, sid)
    statement["Action"] = [a for a in _listed(statement["Action"]) if a != action] or ["sqs:ListQueues"]
    assert f"{role}: {action} is called but not allowed" in problems(template)


@pytest.mark.parametrize("role, sid, change, expected", [
    ("SensorRole", "ControlQueues", {"Action": "sqs:*"}, "SensorRole: wildcard action sqs:*"),
    ("SensorRole", "ControlQueues", {"Action": ["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                                                "s3:PutObject"]},
     "SensorRole: s3:PutObject is allowed but never called"),
    ("SensorRole", "ControlQueues", {"Action": ["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                                                "states:SendTaskSuccess"]},
     "SensorRole: states:SendTaskSuccess is allowed but never called"),
    ("AccountAccessRole", "DeleteOnlyTaggedResources", {"Condition": {}},
     "AccountAccessRole: ec2:TerminateInstances on Resource '*' without a tag condition"),
    ("VerifyEvidenceFunction", "ReadEvidence", {"Action": ["s3:GetObject", "s3:DeleteObject"]},
     "VerifyEvidenceFunction: s3:DeleteObject is allowed but never called"),
    ("AccountAccessRole", "StopOnlyTaggedSessions", {"Condition": {}},
     "AccountAccessRole: ec2:DeleteTrafficMirrorSession on tapcase's resources without a tag condition"),
])
def test_a_wildcard_or_an_extra_permission_fails(role, sid, change, expected):
    template = copy.deepcopy(TEMPLATE)
    _statement(template, role, sid).update(change)
    assert any(p.startswith(expected) for p in problems(template)), problems(template)


# -- who may assume the member role -----------------------------------------------------------------
#
# IAM: a role's trust policy naming an account as Principal lets every principal of that account
# whose own policy allows sts:AssumeRole assume it; a condition on ``aws:PrincipalArn`` narrows it
# to some of them ("For IAM roles, the request context returns the ARN of the role, not the ARN of
# the user that assumed the role" -- the role's ARN includes its path; IAM global condition context
# keys). A role ARN as Principal would have to exist before the member template is deployed (a trust
# policy naming a missing role is refused: MalformedPolicyDocument), so the member template cannot
# name the stack's generated roles; it names their path instead: ``/<MemberRoleName>/``, unique to
# the stack within its account (MemberRoleName is a role name there), set by SAM's ``RolePath`` on
# exactly the functions and the state machine that assume the member role (IAM: a path is 1 to 512
# characters, "/" alone or beginning and ending with "/").

#: The path of the roles that assume the member role.
MEMBER_CALLER_PATH = {"Fn::Sub": "/${MemberRoleName}/"}
MEMBER_CALLERS_ARN = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${MemberRoleName}/*"}


def member_role_callers() -> set[str]:
    """The functions and state machines that call sts:AssumeRole on the member role, from their code
    (``dal.member.acting_in``) and their ASL (Task states with ``Credentials``)."""
    callers = {name for name, f in FUNCTIONS.items() if _acts_in_member_account(f["Properties"]["Handler"])}
    for name, machine in STATE_MACHINES.items():
        definition = json.loads((REPO / machine["Properties"]["DefinitionUri"]).read_text())
        if any(s["Type"] == "Task" and "Credentials" in s for s in _states(definition).values()):
            callers.add(name)
    return callers


def role_paths(template: dict[str, Any]) -> dict[str, Any]:
    """The ``Path`` of every IAM role of the translated template, by what assumes it."""
    found = {}
    for name, resource in translated(template)["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            owner = name.removesuffix("Role") if name.removesuffix("Role") in template["Resources"] else name
            found[owner] = resource["Properties"].get("Path")
    return found


def trust_problems(template: dict[str, Any]) -> list[str]:
    """What makes the member role's trust other than exactly its callers' roles."""
    found = []
    callers = member_role_callers()
    for owner, path in sorted(role_paths(template).items()):
        if (owner in callers) != (path == MEMBER_CALLER_PATH):
            found.append(f"{owner}: path {path!r}" + (" (assumes the member role)" if owner in callers else ""))
    trust = template["Resources"][MEMBER_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    expected = [{"Effect": "Allow",
                 "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                 "Action": "sts:AssumeRole",
                 "Condition": {"ArnLike": {"aws:PrincipalArn": MEMBER_CALLERS_ARN}}}]
    if trust != expected:
        found.append(f"{MEMBER_ROLE}: trust {trust!r}")
    return found


def resolved(value: Any, values: dict[str, str]) -> Any:
    """``value`` with its ``Fn::Sub`` strings filled from ``values`` (a trust policy as deployed)."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict):
        return {k: resolved(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, values) for v in value]
    return value


def test_the_member_role_is_trusted_by_exactly_the_roles_that_assume_it():
    """Derived from the code and the ASL: the functions acting in the suspect's account and the
    state machine whose tasks carry Credentials; each holds sts:AssumeRole, and only their roles
    are under the member role's trusted path."""
    callers = member_role_callers()
    assert callers == {"PlanFunction", "CreateMirrorFilterFunction", "CollectEvidenceFunction", "TeardownFunction",
                       "JanitorFunction", "InvestigationStateMachine"}
    assert all("sts:AssumeRole" in derived()[name] for name in callers)
    assert trust_problems(TEMPLATE) == []


@pytest.mark.parametrize("change, expected", [
    (lambda t: t["Resources"]["TeardownFunction"]["Properties"].pop("RolePath"),
     "TeardownFunction: path None (assumes the member role)"),
    (lambda t: t["Resources"]["CoverageFunction"]["Properties"].update(RolePath=MEMBER_CALLER_PATH),
     "CoverageFunction: path"),
    (lambda t: t["Resources"][MEMBER_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0].pop("Condition"),
     f"{MEMBER_ROLE}: trust"),
])
def test_a_role_added_to_or_missing_from_the_trust_fails(change, expected):
    template = copy.deepcopy(TEMPLATE)
    change(template)
    assert any(p.startswith(expected) for p in trust_problems(template)), trust_problems(template)


ADMIN, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"


def _trust_as_deployed(template: dict[str, Any], account: str) -> dict[str, Any]:
    document = template["Resources"][MEMBER_ROLE]["Properties"]["AssumeRolePolicyDocument"]
    return dict(resolved(document, {"AWS::Partition": "aws", "AWS::AccountId": account,
                                    "AdministratorAccountId": ADMIN, "MemberRoleName": "tapcase-member"}))


@pytest.mark.parametrize("which", ["template.yaml", "member.yaml"])
def test_a_role_outside_the_callers_is_refused_by_the_member_roles_trust(which):
    """Evaluated as STS evaluates the trust (tapcase.localcloud.sts_trust, the local cloud's STS):
    a caller's role under ``/tapcase-member/`` in the administrator account is trusted; the
    administrator's other roles (coverage, the report writer, the sensor), the same path in another
    account, or a principal of the account without a role identity, are not."""
    from tapcase.localcloud.sts_trust import Caller, trusts
    from tapcase.member_template import MEMBER_TEMPLATE

    template = TEMPLATE if which == "template.yaml" else load_template(MEMBER_TEMPLATE)
    document = _trust_as_deployed(template, ADMIN if which == "template.yaml" else MEMBER)

    def allowed(account: str, role: str | None) -> bool:
        caller = Caller(account, f"arn:aws:iam::{account}:role{role}" if role else None)
        return trusts(document, caller, caller.context())

    for name in sorted(member_role_callers()):
        assert allowed(ADMIN, f"/tapcase-member/tapcase-{name}Role-ABC123"), name
    assert not allowed(ADMIN, "/tapcase-CoverageFunctionRole-ABC123")
    assert not allowed(ADMIN, "/tapcase-WriteReportFunctionRole-ABC123")
    assert not allowed(ADMIN, "/tapcase-member-sensor")
    assert not allowed(ADMIN, "/tapcase-member")  # the member role itself: no path under its name
    assert not allowed(OTHER, "/tapcase-member/tapcase-PlanFunctionRole-ABC123")
    assert not allowed(ADMIN, None)
