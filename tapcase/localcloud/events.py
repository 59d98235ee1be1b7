"""EventBridge: rules that target a state machine or a Lambda function deliver to them; Step
Functions sends its execution status changes; TestEventPattern answers.

moto matches events against rule patterns but raises NotImplementedError for Step Functions and
Lambda targets, leaves TestEventPattern empty, and Step Functions sends no events. Here:

- a matching event starts an execution of a target state machine (input: the event, or the
  target's ``Input``/``InputPath``; a generated name, as EventBridge gives), so a GuardDuty finding
  put on the bus locally starts an investigation as on AWS;
- a matching event invokes a target Lambda function asynchronously, as EventBridge does ("Lambda
  ... asynchronous invocation"): the function runs later, in the background, and an error makes
  Lambda retry it twice, one then two minutes apart (workflow time, :mod:`.timescale`);
- every execution of a Standard state machine sends "Step Functions Execution Status Change"
  (source ``aws.states``) to the default bus when it starts (RUNNING) and when it ends
  (SUCCEEDED, FAILED, TIMED_OUT, ABORTED), shaped as the Step Functions developer guide's examples
  ("EventBridge for Step Functions execution status changes"): ``executionArn``,
  ``stateMachineArn``, ``name``, ``status``, ``startDate``/``stopDate`` in epoch milliseconds,
  ``input``/``output`` as JSON text with ``inputDetails``/``outputDetails``, ``error``, ``cause``;
  when the escaped input and output together exceed 248 KB the input is left out, and an output
  over 248 KB is left out (``included: false``), as AWS documents (EventBridge's event size quota);
  delivery is best effort and asynchronous;
- a rule whose ``State`` is ``DISABLED`` matches no event (PutRule API reference, ``State``);
- TestEventPattern uses moto's own matcher; patterns are refused and matched as EventBridge does
  where moto differs (:mod:`tapcase.localcloud.event_patterns`);
- a pattern matches fields of objects inside arrays, each field against the values of every
  element (moto stops at an array): Security Hub's rules filter ``detail.findings`` this way
  ("Configuring an EventBridge rule for Security Hub CSPM findings": the ASFF attributes under
  ``"detail": {"findings": {...}}``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from typing import Any

log = logging.getLogger(__name__)
_applied = False
_lock = threading.Lock()


def _start_execution(state_machine_arn: str, region: str, payload: str) -> None:
    import boto3

    sfn = boto3.client(
        "stepfunctions", region_name=region, endpoint_url=f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}",
        aws_access_key_id="events", aws_secret_access_key="events",
    )
    sfn.start_execution(stateMachineArn=state_machine_arn, name=str(uuid.uuid4()), input=payload)


#: Lambda's asynchronous invocation: "If the function returns an error, Lambda attempts to run it
#: two more times, with a one-minute wait between the first two attempts, and two minutes between
#: the second and third attempts" (Lambda developer guide, asynchronous invocation).
ASYNC_RETRY_DELAYS = (60.0, 120.0)
STATUS_CHANGE = "Step Functions Execution Status Change"
#: "If the combined escaped input and escaped output sent to EventBridge exceeds 248 KB, then the
#: input will be excluded. Similarly, if the escaped output exceeds 248 KB, then the output will be
#: excluded."
PAYLOAD_LIMIT = 248 * 1024


def _invoke_async(function_arn: str, region: str, payload: str) -> None:
    """One asynchronous invocation: the function, then up to two retries after an error."""
    import boto3

    from tapcase.localcloud import timescale

    lam = boto3.client(
        "lambda", region_name=region, endpoint_url=f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}",
        aws_access_key_id="events", aws_secret_access_key="events",
    )
    for attempt, delay in enumerate((0.0, *ASYNC_RETRY_DELAYS)):
        if delay:
            timescale.sleep(delay)
        try:
            answer = lam.invoke(FunctionName=function_arn, InvocationType="RequestResponse", Payload=payload.encode())
        except Exception:  # noqa: BLE001 - the local cloud went away; AWS would retry, nobody to tell here
            log.exception("asynchronous invocation of %s failed", function_arn)
            return
        if "FunctionError" not in answer:
            return
        log.warning("asynchronous invocation of %s failed (attempt %d): %s", function_arn, attempt + 1,
                    answer["Payload"].read()[:500])


def _millis(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)


def status_change_detail(execution: Any) -> dict[str, Any]:
    """The ``detail`` of a "Step Functions Execution Status Change" event for a moto execution."""
    status = str(execution.exec_status.value if hasattr(execution.exec_status, "value") else execution.exec_status)
    text_in = _text(execution.input_data)
    text_out = _text(execution.output) if status == "SUCCEEDED" else None
    escaped_in, escaped_out = len(json.dumps(text_in or "")), len(json.dumps(text_out or ""))
    out_included = text_out is None or escaped_out <= PAYLOAD_LIMIT
    in_included = escaped_in + (escaped_out if out_included else 0) <= PAYLOAD_LIMIT
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date) if status != "RUNNING" else None,
        "input": text_in if in_included else None,
        "inputDetails": {"included": in_included},
        "output": text_out if out_included else None,
        "outputDetails": {"included": out_included} if text_out is not None else None,
        "error": execution.error or None,
        "cause": execution.cause or None,
    }


def execution_status_changed(execution: Any) -> None:
    """Send the execution's status change to the default bus (in the background, best effort)."""
    try:
        detail = status_change_detail(execution)
    except Exception:  # noqa: BLE001 - an event must never break the execution it reports
        log.exception("no status change event for %s", getattr(execution, "exec_arn", "?"))
        return

    def send() -> None:
        from moto.events.models import events_backends

        try:
            events_backends[execution.account_id][execution.region_name].put_events([{
                "Source": "aws.states", "DetailType": STATUS_CHANGE, "Detail": json.dumps(detail),
                "Resources": [execution.exec_arn],
            }])
        except Exception:  # noqa: BLE001 - best effort, as on AWS
            log.exception("status change event for %s not delivered", detail["executionArn"])

    threading.Thread(target=send, name="sfn-status-change", daemon=True).start()


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """moto keeps ``time`` as epoch seconds; EventBridge delivers ISO-8601 (``2024-06-03T14:00:00Z``)."""
    out = dict(event)
    if isinstance(out.get("time"), (int, float)):
        import datetime

        out["time"] = datetime.datetime.fromtimestamp(out["time"], tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng import parse

        matches = [m.value for m in parse(target["InputPath"]).find(event)]
        return json.dumps(matches[0] if matches else None)
    return json.dumps(event)


def flatten_event(node: Any, prefix: str = "", result: dict[str, Any] | None = None,
                  in_array: bool = False) -> dict[str, Any]:
    """An event's fields by dotted path, as moto's matcher reads them, also inside arrays of objects
    (a field there has the list of every element's values)."""
    result = {} if result is None else result
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            flatten_event(value, path, result, in_array)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            for item in value:
                if isinstance(item, dict):
                    flatten_event(item, path, result, True)
                else:
                    result.setdefault(path, []).append(item)
        elif in_array:
            values = result.setdefault(path, [])
            values.extend(value if isinstance(value, list) else [value])
        else:
            result[path] = value
    return result


def apply() -> None:
    global _applied
    with _lock:
        if _applied:
            return
        from moto.events.exceptions import InvalidEventPatternException
        from moto.events.models import UNDEFINED, EventPattern, EventPatternParser, Rule
        from moto.events.responses import EventsHandler
        from moto.utilities.arns import parse_arn

        from tapcase.localcloud.event_patterns import PatternError, check_pattern, is_or

        def validate_event_pattern(self: Any, pattern: dict[str, Any]) -> None:
            try:
                check_pattern(pattern)
            except PatternError as exc:
                raise InvalidEventPatternException(reason=str(exc)) from None

        def does_event_match(self: Any, event_flat: dict[str, Any], pattern_node: Any, prefix: str = "") -> bool:
            if not isinstance(pattern_node, dict):
                return False
            for key, value in pattern_node.items():
                if is_or(key, value):
                    matched = any(does_event_match(self, event_flat, p, prefix) for p in value)
                else:
                    path = f"{prefix}.{key}" if prefix else key
                    if isinstance(value, dict):
                        matched = does_event_match(self, event_flat, value, path)
                    elif isinstance(value, list):
                        matched = self._does_item_match_filters(event_flat.get(path, UNDEFINED), value)
                    else:
                        matched = False
                if not matched:
                    return False
            return True

        original_named = EventPattern._does_item_match_named_filter

        def does_item_match_named_filter(item: Any, pattern: dict[str, Any]) -> bool:
            if "numeric" in pattern:  # numeric matching takes JSON numbers only
                items = item if isinstance(item, list) else [item]
                if all(isinstance(i, bool) for i in items):
                    return False
            return bool(original_named(item, pattern))

        EventPatternParser._validate_event_pattern = validate_event_pattern  # type: ignore[method-assign]
        EventPattern._flatten_dict = staticmethod(flatten_event)  # type: ignore[method-assign]
        EventPattern._does_event_match = does_event_match  # type: ignore[method-assign]
        EventPattern._does_item_match_named_filter = staticmethod(does_item_match_named_filter)  # type: ignore[method-assign]

        original_send = Rule.send_to_targets

        def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
            # "DISABLED: The rule is disabled. EventBridge does not match any events against the
            # rule" (PutRule, State); moto sends to every rule of the bus.
            if getattr(self, "state", "ENABLED") == "DISABLED":
                return
            # A rule with a schedule and no event pattern matches no event (moto: every event).
            if self.scheduled_expression and not self.event_pattern.get_pattern():
                return
            if not self.event_pattern.matches_event(original_event):
                return
            states = [t for t in self.targets if parse_arn(t["Arn"]).service == "states"]
            functions = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
            others = [t for t in self.targets if t not in states and t not in functions]
            for target in functions:
                threading.Thread(
                    target=_invoke_async,
                    args=(target["Arn"], self.region_name, _target_input(target, _as_delivered(dict(original_event)))),
                    daemon=True,
                ).start()
            for target in states:
                # EventBridge starts the execution asynchronously; so do we (PutEvents must not wait).
                threading.Thread(
                    target=_start_execution,
                    args=(target["Arn"], self.region_name, _target_input(target, _as_delivered(dict(original_event)))),
                    daemon=True,
                ).start()
            if others:
                saved = self.targets
                try:
                    self.targets = others
                    original_send(self, original_event, transform_input)
                finally:
                    self.targets = saved

        def test_event_pattern(self: Any) -> str:
            pattern = EventPattern.load(self._get_param("EventPattern"))
            event = json.loads(self._get_param("Event"))
            return json.dumps({"Result": bool(pattern.matches_event(event))})

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
        EventsHandler.test_event_pattern = test_event_pattern  # type: ignore[method-assign,assignment]
        _applied = True
