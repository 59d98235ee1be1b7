"""One Logger for every function (powertools).

The service name is not "tapcase": powertools names its logging logger after the service, and the
local cloud's own ``tapcase.*`` loggers would otherwise propagate into the functions' handler.
"""

from aws_lambda_powertools import Logger

logger = Logger(service="tapcase-workflow")
