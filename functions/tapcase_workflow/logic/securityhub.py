"""Security Hub findings as an entry (pure): which findings of a "Security Hub Findings - Imported"
event start an investigation, and each as the GuardDuty finding it is.

Accepted: a finding GuardDuty produced (``ProductArn`` ``arn:<partition>:securityhub:<region>::
product/aws/guardduty``) about an EC2 instance (a ``Resources[]`` entry of ``Type``
``AwsEc2Instance``), active (``RecordState`` ``ACTIVE``, ``Workflow.Status`` ``NEW`` or ``NOTIFIED``,
not archived in GuardDuty). Other products' findings, Inspector's EC2 findings included, are not:
they report vulnerabilities, exposure or configuration, not activity GuardDuty saw on the network,
so a capture has nothing to look for and no time to anchor its flow-log context on
(:class:`NotAGuardDutyFinding`, skipped).

A GuardDuty finding in ASFF becomes the GuardDuty finding EventBridge would have delivered, field
by field, from the GuardDuty user guide's "Typical finding from GuardDuty" (Integrating with AWS
Security Hub):

=====================================  ================================================================
GuardDuty finding                      ASFF
=====================================  ================================================================
``id``, ``arn``                        ``Id`` is the finding's ARN (``…:detector/<d>/finding/<id>``)
``accountId``                          ``AwsAccountId``
``region``                             ``Region``, else the resource's, else the ARN's
``type``                               ``FindingProviderFields.Types`` (else ``Types``): the last part of
                                       ``<namespace>/<category>/<Purpose>:EC2-<Name>`` is the type
                                       ``<Purpose>:EC2/<Name>`` (the guide's table of names)
``severity``                           ``FindingProviderFields.Severity.Original`` (else
                                       ``Severity.Original``, else the deprecated ``Severity.Product``)
``title``, ``updatedAt``               ``Title``, ``UpdatedAt``
``resource.instanceDetails``           ``Resources[]`` ``AwsEc2Instance``: ``Id`` (the instance ARN),
                                       ``Tags``, ``Details.AwsEc2Instance`` (``Type``, ``LaunchedAt``,
                                       ``VpcId``, ``SubnetId``, ``NetworkInterfaces``, ``IpV4Addresses``)
``service.*``                          ``ProductFields`` ``aws/guardduty/service/<path>`` (text values)
=====================================  ================================================================

So the investigation id (from the finding id) is the one the GuardDuty event of the same finding
gives: a finding that arrives both ways is one investigation (the second ends "already under
investigation" while the first runs, "already investigated" after it).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from tapcase_workflow.errors import FindingNotActive, InvalidRequest, NotAGuardDutyFinding
from tapcase_workflow.models.guardduty import Finding
from tapcase_workflow.models.securityhub import AsffFinding, AsffResource

GUARDDUTY_PRODUCT = re.compile(r"^arn:aws[a-z-]*:securityhub:[a-z0-9-]*::product/aws/guardduty$")
#: ``Workflow.Status`` values of a finding someone is still to act on.
OPEN_WORKFLOW = ("NEW", "NOTIFIED")
#: The ``ProductFields`` keys of a GuardDuty finding's own fields.
GUARDDUTY_FIELDS = "aws/guardduty/"
EC2_INSTANCE = "AwsEc2Instance"
#: GuardDuty's severity levels, the lowest value of each (for a finding with a label only).
LABEL_SEVERITY = {"INFORMATIONAL": 0.0, "LOW": 1.0, "MEDIUM": 4.0, "HIGH": 7.0, "CRITICAL": 9.0}
_CLASSIFIER = re.compile(r"^([A-Za-z]+):([A-Za-z0-9]+)-(\S+)$")
_INDEX = re.compile(r"^(.+?)\.(\d+)_$")


def describe(finding: AsffFinding) -> str:
    return f"Security Hub finding {finding.Id}"


def check_active(finding: AsffFinding) -> None:
    """:class:`FindingNotActive` for an archived, resolved or suppressed finding."""
    status = (finding.Workflow.Status if finding.Workflow else None) or finding.WorkflowState or "NEW"
    archived_in_guardduty = finding.ProductFields.get("aws/guardduty/service/archived") == "true"
    if (finding.RecordState or "ACTIVE") != "ACTIVE" or status not in OPEN_WORKFLOW or archived_in_guardduty:
        state = "archived in GuardDuty" if archived_in_guardduty else \
            f"RecordState {finding.RecordState or 'ACTIVE'}, Workflow.Status {status}"
        raise FindingNotActive(f"{describe(finding)} is not active ({state}): nothing to investigate")


def check_guardduty(finding: AsffFinding) -> None:
    """:class:`NotAGuardDutyFinding` for another product's finding (see the module docstring)."""
    if not GUARDDUTY_PRODUCT.match(finding.ProductArn):
        product = finding.ProductName or finding.ProductFields.get("aws/securityhub/ProductName") or finding.ProductArn
        raise NotAGuardDutyFinding(f"{describe(finding)} is {product}'s, not GuardDuty's: tapcase investigates "
                                   "the network activity GuardDuty reports")


def guardduty_type(finding: AsffFinding) -> str:
    """The GuardDuty finding type: ``TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce`` ->
    ``UnauthorizedAccess:EC2/SSHBruteForce`` (the provider's ``Types`` first: Security Hub's own
    copy can be changed with BatchUpdateFindings)."""
    provided = finding.FindingProviderFields.Types if finding.FindingProviderFields else None
    for value in [*(provided or []), *finding.Types]:
        match = _CLASSIFIER.match(value.rsplit("/", 1)[-1].strip())
        if match:
            return f"{match[1]}:{match[2]}/{match[3]}"
    raise InvalidRequest(f"{describe(finding)}: Types: no GuardDuty finding type in {finding.Types}")


def severity(finding: AsffFinding) -> float:
    """GuardDuty's own severity (0.1-10): ``Original`` as the provider gave it, else the deprecated
    ``Product``, else the lowest value of the label."""
    sources = [finding.FindingProviderFields.Severity if finding.FindingProviderFields else None, finding.Severity]
    for source in sources:
        if source is not None and source.Original:
            try:
                return float(source.Original)
            except ValueError:
                pass
    for source in sources:
        if source is not None and source.Product is not None:
            return float(source.Product)
    for source in sources:
        if source is not None and source.Label in LABEL_SEVERITY:
            return LABEL_SEVERITY[source.Label]
    raise InvalidRequest(f"{describe(finding)}: Severity: neither Original nor Label")


def finding_id(finding: AsffFinding) -> str:
    """The GuardDuty finding id: the last part of ``Id`` (the finding's ARN)."""
    head, sep, tail = finding.Id.rpartition("/finding/")
    if not sep or not tail or ":guardduty:" not in head:
        raise InvalidRequest(f"{describe(finding)}: Id: not a GuardDuty finding ARN (…:detector/<id>/finding/<id>)")
    return tail


def _value(text: str) -> Any:
    return {"true": True, "false": False}.get(text, text)


def service_fields(product_fields: dict[str, str]) -> dict[str, Any]:
    """``aws/guardduty/service/<a>/<b>`` keys as the nested ``service`` object they were flattened
    from (``true``/``false`` as booleans, a ``name.N_`` segment as the list item N; empty values
    left out)."""
    root: dict[str, Any] = {}
    prefix = GUARDDUTY_FIELDS + "service/"
    for key, text in sorted(product_fields.items()):
        if not key.startswith(prefix) or text == "":
            continue
        node: Any = root
        parts = key[len(prefix):].split("/")
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            indexed = _INDEX.match(part)
            if indexed:
                items = node.setdefault(indexed[1], []) if isinstance(node, dict) else []
                if not isinstance(items, list):
                    break
                index = int(indexed[2])
                while len(items) <= index:
                    items.append({})
                if last:
                    items[index] = _value(text)
                node = items[index]
            elif isinstance(node, dict):
                if last:
                    node.setdefault(part, _value(text))
                else:
                    child = node.setdefault(part, {})
                    if not isinstance(child, dict):
                        break
                    node = child
            else:
                break
    return root


def _instance_id(resource: AsffResource) -> str:
    return resource.Id.rsplit(":instance/", 1)[-1] if ":instance/" in resource.Id else resource.Id


def _instance_details(resource: AsffResource) -> dict[str, Any]:
    details = (resource.Details or {}).get(EC2_INSTANCE) or {}
    private = [ip for ip in details.get("IpV4Addresses") or [] if _is_private(ip)]
    network = {"vpcId": details.get("VpcId"), "subnetId": details.get("SubnetId"),
               "privateIpAddress": private[0] if private else None,
               "privateIpAddresses": [{"privateIpAddress": ip} for ip in private]}
    enis = [n.get("NetworkInterfaceId") for n in details.get("NetworkInterfaces") or [] if isinstance(n, dict)]
    interfaces = [{**network, "networkInterfaceId": eni} for eni in enis if eni] or [network]
    return {
        "instanceId": _instance_id(resource),
        "instanceType": details.get("Type"),
        "launchTime": details.get("LaunchedAt"),
        "availabilityZone": None,
        "networkInterfaces": interfaces,
        "tags": [{"key": k, "value": v} for k, v in (resource.Tags or {}).items()],
    }


def _is_private(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_private
    except ValueError:
        return False


def as_guardduty_finding(finding: AsffFinding) -> Finding:
    """The GuardDuty finding an ASFF finding of GuardDuty's is (see the module's table)."""
    instance = next((r for r in finding.Resources if r.Type == EC2_INSTANCE), None)
    first = finding.Resources[0] if finding.Resources else None
    arn_region = finding.Id.split(":")[3] if finding.Id.count(":") >= 5 else None
    return Finding.model_validate({
        "id": finding_id(finding),
        "arn": finding.Id,
        "type": guardduty_type(finding),
        "severity": severity(finding),
        "region": finding.Region or (first.Region if first else None) or arn_region,
        "accountId": finding.AwsAccountId,
        "title": finding.Title,
        "updatedAt": finding.UpdatedAt,
        "resource": {"resourceType": "Instance", "instanceDetails": _instance_details(instance)} if instance
        else {"resourceType": first.Type if first else None},
        "service": service_fields(finding.ProductFields),
    })
