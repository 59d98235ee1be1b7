"""The report topic."""

from __future__ import annotations

from tapcase_workflow.dal.clients import client

#: SNS Publish ``Subject``: "UTF-8 text with no line breaks or control characters, and less than
#: 100 characters long" (Publish API reference).
MAX_SUBJECT = 99


def publish(topic_arn: str, subject: str, message: str) -> str:
    """Publish ``message``; its MessageId."""
    return str(client("sns").publish(TopicArn=topic_arn, Subject=subject[:MAX_SUBJECT], Message=message)["MessageId"])
