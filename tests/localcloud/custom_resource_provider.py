"""A custom resource provider for tests/localcloud/test_custom_resources.py: a Lambda handler that
records every request CloudFormation sends it and answers as its properties tell it to
(``Answer`` for Create/Update, ``DeleteAnswer`` for Delete): SUCCESS (with ``Data``), FAILED, a
response too long, one without a physical id, or none at all."""

from __future__ import annotations

import json
from typing import Any

from tapcase_workflow.dal import cfn_response

REQUESTS: list[dict[str, Any]] = []


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    REQUESTS.append(event)
    props = event["ResourceProperties"]
    answer = props.get("DeleteAnswer", "SUCCESS") if event["RequestType"] == "Delete" else props.get("Answer")
    body: dict[str, Any] = {
        "Status": "SUCCESS", "PhysicalResourceId": event.get("PhysicalResourceId", "thing-1"),
        "StackId": event["StackId"], "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"],
        "Data": {"Size": "3"},
    }
    if answer == "SILENT":
        return {"answered": False}
    if answer == "FAILED":
        body.update(Status="FAILED", Reason="told to fail")
    elif answer == "BIG":
        body["Data"] = {"Padding": "x" * 5000}
    elif answer == "NO_ID":
        body["PhysicalResourceId"] = ""
    cfn_response.send(event["ResponseURL"], json.dumps(body).encode())
    return {"answered": True}
