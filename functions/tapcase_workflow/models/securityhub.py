"""Security Hub findings as EventBridge delivers them ("Security Hub Findings - Imported").

A Security Hub administrator (aggregation) account receives its members' findings in the AWS
Security Finding Format (ASFF); Security Hub sends each new or updated finding to EventBridge as
detail-type ``Security Hub Findings - Imported``, source ``aws.securityhub``, with the finding in
``detail.findings`` ("Each event sends a single finding": Security Hub user guide, "EventBridge
event formats for Security Hub CSPM"). GuardDuty sends its findings there in ASFF (GuardDuty user
guide, "Integrating with AWS Security Hub", "Typical finding from GuardDuty"): ``Id`` is the
GuardDuty finding's ARN, ``AwsAccountId`` the account, ``Resources[]`` the instance
(``Type`` ``AwsEc2Instance``, ``Id`` its ARN), ``ProductFields`` the GuardDuty finding's fields as
``aws/guardduty/<path>`` keys with string values.

Tolerant models (``extra="allow"``): only what the workflow reads is typed, and ASFF fields are
optional here unless the workflow cannot do without them.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

#: The detail-type and source of a Security Hub finding event.
DETAIL_TYPE = "Security Hub Findings - Imported"
SOURCE = "aws.securityhub"


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AsffSeverity(_Tolerant):
    """``Severity`` (and ``FindingProviderFields.Severity``): ``Label`` (INFORMATIONAL, LOW, MEDIUM,
    HIGH, CRITICAL), ``Original`` (the product's own severity, text), ``Normalized`` and ``Product``
    (deprecated)."""

    Label: str | None = None
    Original: str | None = None
    Normalized: int | None = None
    Product: float | None = None


class AsffProviderFields(_Tolerant):
    """``FindingProviderFields``: what the product sent, kept even when Security Hub's own copy
    (``Severity``, ``Types``) is updated with BatchUpdateFindings."""

    Severity: AsffSeverity | None = None
    Types: list[str] | None = None


class AsffWorkflow(_Tolerant):
    Status: str | None = None  # NEW | NOTIFIED | RESOLVED | SUPPRESSED


class AsffResource(_Tolerant):
    Type: str
    Id: str
    Partition: str | None = None
    Region: str | None = None
    Tags: dict[str, str] | None = None
    Details: dict[str, Any] | None = None


class AsffFinding(_Tolerant):
    """One finding in ASFF (Security Hub API reference, AwsSecurityFinding)."""

    SchemaVersion: str | None = None
    Id: str = Field(min_length=1)
    ProductArn: str = Field(min_length=1)
    GeneratorId: str | None = None
    AwsAccountId: str | None = None
    Region: str | None = None
    Types: list[str] = Field(default_factory=list)
    FirstObservedAt: str | None = None
    LastObservedAt: str | None = None
    CreatedAt: str | None = None
    UpdatedAt: str | None = None
    Severity: AsffSeverity | None = None
    FindingProviderFields: AsffProviderFields | None = None
    Title: str | None = None
    Description: str | None = None
    ProductFields: dict[str, str] = Field(default_factory=dict)
    ProductName: str | None = None
    Resources: list[AsffResource] = Field(default_factory=list)
    Workflow: AsffWorkflow | None = None
    WorkflowState: str | None = None  # deprecated in favour of Workflow.Status
    RecordState: str | None = None  # ACTIVE | ARCHIVED


class SecurityHubDetail(_Tolerant):
    findings: list[AsffFinding] = Field(min_length=1)


class SecurityHubFindingsEvent(EventBridgeModel):
    """A "Security Hub Findings - Imported" event: powertools' EventBridge model (the envelope) whose
    ``detail`` holds the findings."""

    detail_type: Literal["Security Hub Findings - Imported"] = Field(alias="detail-type")
    source: Literal["aws.securityhub"]
    detail: SecurityHubDetail
