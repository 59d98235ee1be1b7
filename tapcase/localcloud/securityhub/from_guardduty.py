"""What GuardDuty sends to Security Hub: a GuardDuty finding in ASFF, and the "Security Hub
Findings - Imported" event Security Hub then puts on EventBridge.

The mapping is the GuardDuty user guide's ("Integrating with AWS Security Hub", "Typical finding
from GuardDuty"): ``Id`` the finding's ARN, ``ProductArn`` ``arn:<partition>:securityhub:<region>::
product/aws/guardduty``, ``GeneratorId`` the detector's ARN, ``AwsAccountId``, ``Types`` in ASFF's
``namespace/category/classifier`` naming (the guide's table: ``UnauthorizedAccess:EC2/SSHBruteForce``
is ``TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce``), ``Severity`` (``Product`` the
GuardDuty severity, ``Label``, ``Normalized``), ``ProductFields`` the finding's ``service`` fields
as ``aws/guardduty/service/<path>`` text values, the instance as a ``Resources[]`` entry of
``Type`` ``AwsEc2Instance`` whose ``Id`` is its ARN, ``Workflow.Status`` ``NEW`` and
``RecordState`` ``ACTIVE``. Beyond the guide's example: ``FindingProviderFields`` (Security Hub
fills it from ``Severity`` and ``Types`` when the provider gives none: API reference,
FindingProviderSeverity), and list items in ``ProductFields`` as ``<name>.<n>_`` path segments
(the guide's example has no list).

The event's envelope is the Security Hub user guide's ("EventBridge event formats for Security Hub
CSPM"): detail-type ``Security Hub Findings - Imported``, source ``aws.securityhub``,
``resources`` the product ARN and the finding id joined by ``/``, ``detail.findings`` the finding.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

#: ASFF namespace/category of GuardDuty's EC2 threat purposes (the guide's table).
CATEGORIES = {
    "Backdoor": "TTPs/Command and Control",
    "Behavior": "Unusual Behaviors/VM",
    "CryptoCurrency": "TTPs/Command and Control",
    "Impact": "TTPs/Impact",
    "Recon": "TTPs/Discovery",
    "Trojan": "TTPs/Command and Control",
    "UnauthorizedAccess": "TTPs/Initial Access",
}


def severity_label(severity: float) -> str:
    """GuardDuty's levels: LOW 1.0-3.9, MEDIUM 4.0-6.9, HIGH 7.0-8.9, CRITICAL 9.0-10.0."""
    return "CRITICAL" if severity >= 9 else "HIGH" if severity >= 7 else "MEDIUM" if severity >= 4 else "LOW"


def asff_type(finding_type: str) -> str:
    purpose = finding_type.split(":", 1)[0]
    return f"{CATEGORIES.get(purpose, 'TTPs')}/{finding_type.replace('/', '-', 1)}"


def _flatten(value: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}/{key}", out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            head, _, last = path.rpartition("/")
            _flatten(item, f"{head}/{last}.{index}_", out)
    elif isinstance(value, bool):
        out[path] = "true" if value else "false"
    elif value is not None:
        out[path] = str(value)


def _iso(value: Any) -> str | None:
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value) if value else None


def asff_from_guardduty(finding: dict[str, Any], partition: str = "aws") -> dict[str, Any]:
    """A GuardDuty finding (EventBridge's ``detail``) as GuardDuty sends it to Security Hub."""
    region, account, arn = finding["region"], finding["accountId"], finding["arn"]
    product_arn = f"arn:{partition}:securityhub:{region}::product/aws/guardduty"
    severity = float(finding["severity"])
    label = severity_label(severity)
    types = [asff_type(finding["type"])]
    service = finding.get("service") or {}
    fields: dict[str, str] = {}
    _flatten(service, "aws/guardduty/service", fields)
    fields |= {"aws/securityhub/FindingId": f"{product_arn}/{arn}", "aws/securityhub/ProductName": "GuardDuty",
               "aws/securityhub/CompanyName": "Amazon"}
    resource = finding.get("resource") or {}
    asff: dict[str, Any] = {
        "SchemaVersion": "2018-10-08",
        "Id": arn,
        "ProductArn": product_arn,
        "GeneratorId": arn.rsplit("/finding/", 1)[0],
        "AwsAccountId": account,
        "Types": types,
        "FirstObservedAt": service.get("eventFirstSeen"),
        "LastObservedAt": service.get("eventLastSeen"),
        "CreatedAt": finding.get("createdAt"),
        "UpdatedAt": finding.get("updatedAt"),
        "Severity": {"Product": severity, "Label": label, "Normalized": round(severity * 10)},
        "FindingProviderFields": {"Severity": {"Label": label, "Original": f"{severity:g}"}, "Types": types},
        "Title": finding.get("title"),
        "Description": finding.get("description") or finding.get("title") or finding["type"],
        "ProductFields": fields,
        "Resources": [_resource(resource, partition, region, account)],
        "WorkflowState": "NEW",
        "Workflow": {"Status": "NEW"},
        "RecordState": "ARCHIVED" if service.get("archived") is True else "ACTIVE",
    }
    return {k: v for k, v in asff.items() if v is not None}


def _resource(resource: dict[str, Any], partition: str, region: str, account: str) -> dict[str, Any]:
    details = resource.get("instanceDetails")
    if resource.get("resourceType") != "Instance" or not details:
        kind = {"AccessKey": "AwsIamAccessKey", "S3Bucket": "AwsS3Bucket"}.get(resource.get("resourceType") or "",
                                                                              "Other")
        return {"Type": kind, "Id": f"arn:{partition}:iam::{account}:unknown", "Partition": partition, "Region": region}
    interfaces = details.get("networkInterfaces") or []
    addresses = [a for n in interfaces for a in (n.get("publicIp"), n.get("privateIpAddress")) if a]
    first = interfaces[0] if interfaces else {}
    ec2 = {"Type": details.get("instanceType"), "ImageId": details.get("imageId"), "IpV4Addresses": addresses,
           "VpcId": first.get("vpcId"), "SubnetId": first.get("subnetId"), "LaunchedAt": _iso(details.get("launchTime")),
           "NetworkInterfaces": [{"NetworkInterfaceId": n["networkInterfaceId"]} for n in interfaces
                                 if n.get("networkInterfaceId")] or None}
    return {
        "Type": "AwsEc2Instance",
        "Id": f"arn:{partition}:ec2:{region}:{account}:instance/{details['instanceId']}",
        "Partition": partition,
        "Region": region,
        "Tags": {t["key"]: t["value"] for t in details.get("tags") or [] if t.get("key")},
        "Details": {"AwsEc2Instance": {k: v for k, v in ec2.items() if v is not None}},
    }


def imported_event(findings: list[dict[str, Any]], account: str, region: str) -> dict[str, Any]:
    """The "Security Hub Findings - Imported" event Security Hub sends in ``account`` (the
    aggregation account) for ``findings`` (ASFF)."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": account,
        "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
        "resources": [f"{f['ProductArn']}/{f['Id']}" for f in findings],
        "detail": {"findings": findings},
    }
