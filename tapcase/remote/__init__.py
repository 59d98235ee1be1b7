"""The CLI's side of a deployed stack: found by name through CloudFormation, on AWS or on any
endpoint that answers like AWS (``tapcase local serve``); requests built and checked against the one
request schema before anything starts; executions followed, summarised and their reports fetched."""
