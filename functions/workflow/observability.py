"""One Logger for every function (powertools)."""

from aws_lambda_powertools import Logger

logger = Logger(service="tapcase")
