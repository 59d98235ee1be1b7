"""tapcase sensor agent: runs Zeek and Suricata on mirrored traffic and hands the logs to S3.

Modules: :mod:`~tapcase_sensor.agent` (answers the state machine over SQS / Step Functions),
:mod:`~tapcase_sensor.engines` (live containers or a capture file), :mod:`~tapcase_sensor.manifest`
(sha256 evidence manifest), :mod:`~tapcase_sensor.logs` (streaming Zeek / EVE parsers),
:mod:`~tapcase_sensor.pcap` (capture validation), :mod:`~tapcase_sensor.cli` (``tapcase-sensor``).
"""

__version__ = "0.1.0"
