"""One Logger and one Metrics for every function (powertools), and the metrics they emit.

Every log line carries the investigation id as its correlation id (``logger.set_correlation_id``).
Metrics are CloudWatch embedded metric format (EMF) lines in the function's log, namespace
``tapcase``, the investigation id as metadata (an id per run would make every datapoint its own
metric if it were a dimension):

* Teardown, the last step of every investigation that created anything: ``Investigations``
  (1, dimension ``outcome`` succeeded / failed), ``InvestigationSeconds`` (execution start to
  teardown done), ``Leftovers`` (resources still there after the attempt: 0 when it completes;
  an incomplete attempt emits only this);
* WriteReport: ``PacketsSeen`` and ``PacketsDropped`` (the sensor's engine counters: drops mean
  an undersized sensor), ``QueriesFailed`` (pack queries Athena did not run to the end).

The service name is not "tapcase": powertools names its logging logger after the service, and the
local cloud's own ``tapcase.*`` loggers would otherwise propagate into the functions' handler.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "tapcase-workflow"
NAMESPACE = "tapcase"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def correlate(investigation_id: str) -> None:
    """Every log line of this invocation carries the investigation id."""
    logger.set_correlation_id(investigation_id)


def record_outcome(investigation_id: str, outcome: str, seconds: float, leftovers: int) -> None:
    """Teardown is done: how the investigation ended, how long it took, what was left."""
    metrics.add_metadata(key="investigation_id", value=investigation_id)
    metrics.add_dimension(name="outcome", value=outcome)
    metrics.add_metric(name="Investigations", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="InvestigationSeconds", unit=MetricUnit.Seconds, value=max(0.0, seconds))
    metrics.add_metric(name="Leftovers", unit=MetricUnit.Count, value=leftovers)


def record_leftovers(investigation_id: str, leftovers: int) -> None:
    """A teardown attempt left resources behind (the state machine retries it)."""
    metrics.add_metadata(key="investigation_id", value=investigation_id)
    metrics.add_metric(name="Leftovers", unit=MetricUnit.Count, value=leftovers)


def record_analysis(investigation_id: str, seen: int | None, dropped: int | None, queries_failed: int) -> None:
    """What the sensor's engines received and dropped (absent counters are not emitted), and how
    many queries of the pack failed."""
    metrics.add_metadata(key="investigation_id", value=investigation_id)
    metrics.add_metric(name="QueriesFailed", unit=MetricUnit.Count, value=queries_failed)
    if seen is not None:
        metrics.add_metric(name="PacketsSeen", unit=MetricUnit.Count, value=seen)
    if dropped is not None:
        metrics.add_metric(name="PacketsDropped", unit=MetricUnit.Count, value=dropped)
