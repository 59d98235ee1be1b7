"""AWS prices the cost estimate uses: us-east-1, on-demand, looked up on 2026-11-29 (not a test).

Each price names where it was read. Free tiers are left out (an account's other use consumes them).
"""

from __future__ import annotations

REGION = "us-east-1"
LOOKED_UP = "2026-11-29"

#: name -> (USD, unit, source)
PRICES: dict[str, tuple[float, str, str]] = {
    "stepfunctions_transition": (
        0.025 / 1000, "state transition (Standard)",
        "https://aws.amazon.com/step-functions/pricing/ ($0.025 per 1,000 state transitions, US East (N. Virginia); "
        "retries count)"),
    "lambda_request": (
        0.20 / 1_000_000, "request", "https://aws.amazon.com/lambda/pricing/ and the AWS whitepaper 'How AWS Pricing "
        "Works' ($0.20 per 1M requests)"),
    "lambda_gb_second": (
        0.0000166667, "GB-second (x86)", "https://aws.amazon.com/lambda/pricing/ (x86, first 6 billion GB-s/month)"),
    "athena_tb_scanned": (
        5.00, "TB scanned (10 MB minimum per query, rounded up to the MB)",
        "https://aws.amazon.com/athena/pricing/ ($5.00 per TB; 10 MB minimum per query)"),
    "s3_put_tier": (
        0.005 / 1000, "PUT, COPY, POST or LIST request (S3 Standard)",
        "https://aws.amazon.com/s3/pricing/ ($0.005 per 1,000 PUT, COPY, POST, LIST requests)"),
    "s3_get_tier": (
        0.0004 / 1000, "GET, SELECT or other request (S3 Standard)",
        "https://aws.amazon.com/s3/pricing/ ($0.0004 per 1,000 GET, SELECT and all other requests)"),
    "sqs_request": (
        0.40 / 1_000_000, "request (standard queue, per 64 KB chunk)",
        "https://aws.amazon.com/sqs/pricing/ ($0.40 per 1M requests after the first 1M)"),
    "dynamodb_write": (
        0.625 / 1_000_000, "write request unit (on-demand)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per 1M WRU since the November 2024 cut)"),
    "dynamodb_read": (
        0.125 / 1_000_000, "read request unit (on-demand)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.125 per 1M RRU)"),
    "sns_publish": (
        0.50 / 1_000_000, "publish request", "https://aws.amazon.com/sns/pricing/ ($0.50 per 1M requests)"),
    "mirror_session_hour": (
        0.015, "traffic mirror session hour (per ENI with a session)",
        "https://aws.amazon.com/vpc/pricing/ (Traffic Mirroring: $0.015 per hour per ENI with a session)"),
    "sensor_instance_hour": (
        0.096, "m6i.large instance hour (Linux, on-demand)",
        "https://aws.amazon.com/ec2/pricing/on-demand/ (m6i.large; the search tool found no AWS page with the "
        "figure: check it there)"),
}


def price(name: str) -> float:
    return PRICES[name][0]
