"""What is never a beacon, DGA, tunnelling or NXDOMAIN-burst candidate (pure).

* AWS service endpoints of the region (the SSM agent's polling of ``ssm``/``ec2messages``/
  ``ssmmessages``, S3, SQS, Step Functions, CloudWatch, KMS...): :func:`aws_endpoint_pattern`;
* the Amazon-provided DNS resolver (``169.254.169.253``, ``fd00:ec2::253``; the VPC's base
  address plus two is recognised in the queries as a private DNS server): :data:`RESOLVER_PATTERN`;
* a bundled list of popular domains (``benign_domains.txt``): :func:`popular_domains`.

Each is a regular expression the query pack inlines (``{{benign_domain_pattern}}``); a name the
finding names is never left out (``{{finding_domain_or_none_pattern}}``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

POPULAR_DOMAINS_FILE = Path(__file__).resolve().parent / "benign_domains.txt"

#: Services whose regional endpoints an instance's own agents and SDKs call all the time.
AWS_SERVICES = (
    "ssm", "ssmmessages", "ec2messages", "ec2", "s3", "sqs", "sns", "states", "sts", "logs", "monitoring",
    "kms", "secretsmanager", "dynamodb", "lambda", "events", "ecr", "ecs", "ecs-agent", "ecs-telemetry",
    "elasticloadbalancing", "autoscaling", "cloudformation", "athena", "glue", "xray", "codedeploy",
    "guardduty", "securityhub", "inspector2", "config", "cloudtrail",
)  # fmt: skip
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$")
ANY_REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}"
#: The Amazon-provided DNS resolver at its link-local addresses (IPv4, IPv6 on Nitro).
RESOLVER_PATTERN = r"^(169\.254\.169\.253|fd00:ec2::253)$"
#: Never matches (a finding without domains exempts nothing).
NEVER = "a^"

_DOMAIN_LINE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


class BenignListError(ValueError):
    """The bundled popular-domain list holds a line that is not a domain name."""


def check_region(region: str | None) -> str | None:
    if region is None or region == "":
        return None
    if not REGION_RE.match(region):
        raise ValueError(f"invalid AWS region {region!r}")
    return region


def aws_endpoint_pattern(region: str | None = None) -> str:
    """Endpoints of :data:`AWS_SERVICES` in ``region`` (any region when None), FIPS and dual-stack
    forms included, and the global ``s3``/``sts`` ones. Bucket host names (``<bucket>.s3...``) and
    EC2 public names (``ec2-…compute.amazonaws.com``) are not endpoints: they can be anyone's."""
    checked = check_region(region)
    where = re.escape(checked) if checked else ANY_REGION
    services = "|".join(re.escape(s) for s in AWS_SERVICES)
    return (
        rf"^((api|dkr)\.)?({services})(-fips)?(\.dualstack)?\.{where}\.amazonaws\.com$"
        r"|^(s3|sts)\.amazonaws\.com$"
    )


@lru_cache(maxsize=4)
def popular_domains(path: str | None = None) -> tuple[str, ...]:
    """The bundled list, checked (comments and blank lines skipped)."""
    source = Path(path) if path else POPULAR_DOMAINS_FILE
    domains = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip().lower()
        if not text:
            continue
        if not _DOMAIN_LINE.match(text):
            raise BenignListError(f"{source.name}:{number}: {text!r} is not a domain name")
        domains.append(text)
    return tuple(sorted(set(domains)))


def popular_pattern() -> str:
    return r"(^|\.)(" + "|".join(re.escape(d) for d in popular_domains()) + r")$"


def benign_domain_pattern(region: str | None = None) -> str:
    """A name that is an AWS endpoint of the region or under a popular domain."""
    return f"({aws_endpoint_pattern(region)})|({popular_pattern()})"


def is_benign_name(name: str, region: str | None = None) -> bool:
    """Python's reading of :func:`benign_domain_pattern` (for the report)."""
    text = name.strip().lower().rstrip(".")
    return bool(re.search(aws_endpoint_pattern(region), text) or re.search(popular_pattern(), text))


def is_aws_endpoint(name: str, region: str | None = None) -> bool:
    return bool(re.search(aws_endpoint_pattern(region), name.strip().lower().rstrip(".")))
