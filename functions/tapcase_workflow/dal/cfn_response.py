"""Answering a CloudFormation custom resource request: one HTTP PUT of the response object to the
request's presigned ``ResponseURL`` (CloudFormation user guide, "Custom resource response
objects"). The presigned URL signs no content type, so none is sent (an empty ``Content-Type``,
as AWS's own cfn-response module does)."""

from __future__ import annotations

import time
import urllib.request

ATTEMPTS = 4


def send(url: str, body: bytes) -> None:
    """PUT ``body`` to ``url``, retrying a failed attempt (1, 2, 4 s apart); the last error is raised."""
    for attempt in range(ATTEMPTS):
        request = urllib.request.Request(
            url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - CloudFormation's URL
                answer.read()
            return
        except OSError:
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(2 ** attempt)
