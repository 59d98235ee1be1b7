"""What is never a beacon/DGA/tunnelling candidate: AWS service endpoints of the region, the
Amazon-provided resolver, the bundled popular domains; unless the finding names them."""

from __future__ import annotations

import re

import pytest

from tapcase_workflow.querypack import QueryPackError, benign, get_query, render


@pytest.mark.parametrize("name", [
    "ssm.us-east-1.amazonaws.com", "ec2messages.us-east-1.amazonaws.com", "ssmmessages.us-east-1.amazonaws.com",
    "s3.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "states.us-east-1.amazonaws.com",
    "kms-fips.us-east-1.amazonaws.com", "s3.dualstack.us-east-1.amazonaws.com", "api.ecr.us-east-1.amazonaws.com",
    "sts.amazonaws.com",
])
def test_aws_service_endpoints_of_the_region(name):
    assert benign.is_aws_endpoint(name, "us-east-1") and benign.is_benign_name(name, "us-east-1")


@pytest.mark.parametrize("name", [
    "ssm.eu-west-1.amazonaws.com",  # another region's endpoint (with the region given)
    "ec2-18-196-145-224.eu-central-1.compute.amazonaws.com",  # anyone's EC2 instance
    "exfil-bucket.s3.us-east-1.amazonaws.com",  # anyone's bucket
    "my-alb-123.us-east-1.elb.amazonaws.com",  # anyone's load balancer
    "c2.guarddutyc2activityb.com", "evilgoogle.com",
])
def test_not_endpoints_nor_popular(name):
    assert not benign.is_benign_name(name, "us-east-1")


def test_any_region_when_none_is_known():
    assert benign.is_aws_endpoint("ssm.ap-southeast-2.amazonaws.com")
    assert benign.is_aws_endpoint("ssm.us-gov-west-1.amazonaws.com")
    with pytest.raises(ValueError):
        benign.check_region("us-east-1'; DROP")


def test_popular_domains_list_is_valid_and_matches_subdomains_only():
    domains = benign.popular_domains()
    assert len(domains) >= 100 and "cloudfront.net" in domains and "google.com" in domains
    assert "amazonaws.com" not in domains
    assert benign.is_benign_name("d3qdfnco3bamip.cloudfront.net") and benign.is_benign_name("google.com")
    assert not benign.is_benign_name("notgoogle.com")


def test_the_pack_inlines_the_patterns_and_exempts_the_finding():
    query = get_query("dns_tunneling")
    plain = render(query, database="forensics", investigation_id="gd-1", region="us-east-1")
    assert plain is not None and "cloudfront\\.net" in plain.sql and "ssm|" in plain.sql
    assert f"'{benign.NEVER}'" in plain.sql  # no finding: nothing exempt
    keyed = render(query, database="forensics", investigation_id="gd-1", region="us-east-1",
                   parameters={"finding_domains": ["google.com"]})
    assert keyed is not None and "(^|\\.)(google\\.com)$" in keyed.sql
    assert re.search(r"us\\-east\\-1", plain.sql)
    with pytest.raises(QueryPackError):
        render(query, database="forensics", investigation_id="gd-1", region="nowhere")
