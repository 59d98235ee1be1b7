"""``tapcase local investigate``: one investigation, end to end, on the local cloud."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from rich.console import Console

from tapcase.remote.errors import CliError
from tapcase.remote.follow import follow
from tapcase.remote.render import print_summary
from tapcase_contract import tags
from tapcase_contract.layout import INDICATORS_CSV, INDICATORS_STIX, REPORT_MARKDOWN
from tapcase_workflow.errors import TapcaseError
from tapcase_workflow.logic.request import normalise

STACK_STATE_MACHINE = "tapcase-InvestigationStateMachine"
LOCK_TABLE = "tapcase-LockTable"


class InvestigateError(RuntimeError):
    """The local investigation could not be started."""


def _post(endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        endpoint + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - local endpoint
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise InvestigateError(f"{path}: {json.loads(exc.read()).get('error', exc)}") from None


def _get(endpoint: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(endpoint + path, timeout=30) as resp:  # noqa: S310 - local endpoint
        return json.loads(resp.read())


class Clients:
    """The CLI's clients of one endpoint (made once per endpoint and region, see :meth:`of`)."""

    _made: dict[tuple[str, str], Clients] = {}
    _lock = threading.Lock()

    @classmethod
    def of(cls, endpoint: str, region: str = "us-east-1") -> Clients:
        """The clients of ``endpoint``, made once (boto3 clients are thread-safe, and making five
        takes ~0.4 s of CPU: as long as the rest of a small investigation's client side)."""
        with cls._lock:
            key = (endpoint, region)
            if key not in cls._made:
                cls._made[key] = cls(endpoint, region)
            return cls._made[key]

    def __init__(self, endpoint: str, region: str = "us-east-1") -> None:
        cfg = Config(retries={"max_attempts": 2, "mode": "standard"}, user_agent_extra="tapcase-caller/cli",
                     max_pool_connections=100)
        make = lambda service: boto3.client(  # noqa: E731
            service, endpoint_url=endpoint, region_name=region, aws_access_key_id="local",
            aws_secret_access_key="local", config=cfg,
        )
        self.sfn, self.ec2, self.s3, self.ddb = make("stepfunctions"), make("ec2"), make("s3"), make("dynamodb")
        self.sqs = make("sqs")


def state_machine_arn(sfn: Any) -> str:
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] == STACK_STATE_MACHINE:
            return str(machine["stateMachineArn"])
    raise InvestigateError(f"no state machine {STACK_STATE_MACHINE} at this endpoint: is the stack deployed?")


_LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


def leftovers(c: Clients, investigation_id: str, instance_id: str, endpoint: str,
              account_id: str | None = None) -> dict[str, int]:
    """What this investigation left behind, found by its tag and its ids (all 0 after a clean run),
    whatever other investigations are running in the same cloud (``account_id``: the instance's
    account, whose lock key names it; default: the local cloud's own)."""
    from tapcase.localcloud.cloud import ACCOUNT_ID
    from tapcase_workflow.logic.accounts import lock_key

    tag = [{"Name": f"tag:{tags.INVESTIGATION_ID}", "Values": [investigation_id]}]
    sensors = [i for r in c.ec2.describe_instances(Filters=tag)["Reservations"] for i in r["Instances"]]
    live = [i for i in sensors if i["State"]["Name"] in _LIVE_INSTANCE_STATES]
    running_agents = set(_get(endpoint, "/_tapcase/sensors")["running"])
    queues = c.sqs.list_queues(QueueNamePrefix=f"tapcase-{investigation_id}-").get("QueueUrls", [])
    key = lock_key(account_id or ACCOUNT_ID, instance_id)
    lock = c.ddb.get_item(TableName=LOCK_TABLE, Key={"instance_id": {"S": key}}).get("Item")
    return {
        "mirror_sessions": len(c.ec2.describe_traffic_mirror_sessions(Filters=tag)["TrafficMirrorSessions"]),
        "mirror_targets": len(c.ec2.describe_traffic_mirror_targets(Filters=tag)["TrafficMirrorTargets"]),
        "mirror_filters": len(c.ec2.describe_traffic_mirror_filters(Filters=tag)["TrafficMirrorFilters"]),
        "sensor_instances": len(live),
        "local_sensor_agents": sum(1 for i in sensors if i["InstanceId"] in running_agents),
        "sensor_security_groups": len(c.ec2.describe_security_groups(Filters=tag)["SecurityGroups"]),
        "control_queues": len(queues),
        "locks": int(bool(lock and lock.get("investigation_id", {}).get("S") == investigation_id)),
    }


def cloud_leftovers(endpoint: str) -> dict[str, int]:
    """What every investigation left in the cloud: everything tagged by tapcase, whatever the
    investigation, the local sensors still running, tapcase's queues and the locks held (all 0 once
    every investigation has ended cleanly)."""
    c = Clients.of(endpoint)
    tagged = [{"Name": "tag-key", "Values": [tags.INVESTIGATION_ID]}]
    instances = c.ec2.describe_instances(Filters=[*tagged, {"Name": "instance-state-name", "Values": _LIVE_INSTANCE_STATES}])
    return {
        "mirror_sessions": len(c.ec2.describe_traffic_mirror_sessions(Filters=tagged)["TrafficMirrorSessions"]),
        "mirror_targets": len(c.ec2.describe_traffic_mirror_targets(Filters=tagged)["TrafficMirrorTargets"]),
        "mirror_filters": len(c.ec2.describe_traffic_mirror_filters(Filters=tagged)["TrafficMirrorFilters"]),
        "sensor_instances": sum(len(r["Instances"]) for r in instances["Reservations"]),
        "local_sensor_agents": len(_get(endpoint, "/_tapcase/sensors")["running"]),
        "sensor_security_groups": len(c.ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]),
        "control_queues": len(c.sqs.list_queues(QueueNamePrefix="tapcase-").get("QueueUrls", [])),
        "locks": c.ddb.scan(TableName=LOCK_TABLE, Select="COUNT")["Count"],
    }


def _download(c: Clients, uri: str, dest: Path) -> Path:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    c.s3.download_file(bucket, key, str(dest))
    return dest


def investigate_once(
    endpoint: str,
    event: dict[str, Any],
    *,
    pcap: Path | None = None,
    rules: Path | None = None,
    out: Path = Path("out"),
    console: Console | None = None,
    timeout: float = 600.0,
    name: str | None = None,
) -> dict[str, Any]:
    """Seed, start the real state machine with ``event``, follow it and summarise (with leftovers).

    Raises :class:`InvestigateError` when it cannot start; a failed execution is a summary with
    status FAILED, not an exception.
    """
    try:
        request = normalise(event, max_duration_seconds=86_400)
    except TapcaseError as exc:
        # A non-EC2 finding still goes through the workflow (it ends "skipped"); anything else is refused here.
        if type(exc).__name__ != "NotAnEc2Finding":
            raise InvestigateError(f"{type(exc).__name__}: {exc}") from None
        request = None
    c = Clients.of(endpoint)
    arn = state_machine_arn(c.sfn)
    if pcap is not None or rules is not None:  # else: what `local serve --pcap` set, or no traffic
        _post(endpoint, "/_tapcase/capture", {"pcap": str(pcap.resolve()) if pcap else None,
                                               "rules": str(rules.resolve()) if rules else None})
    details = (event.get("detail", event).get("resource") or {}).get("instanceDetails")
    if request is not None and request.trigger == "guardduty" and details:
        seeded = _post(endpoint, "/_tapcase/seed", {"instance_details": details})
        if console:
            console.print(f"instance {seeded['instance_id']} {'seeded' if seeded['created'] else 'present'}")
    if name is None:
        name = request.investigation_id if request and request.trigger == "guardduty" else f"run-{uuid.uuid4().hex[:12]}"
    if request is not None and request.trigger != "guardduty":
        # a manual or scheduled run is keyed by its execution name, as Plan keys it (the summary's
        # id and the leftovers lookup must be the run's, also when the execution fails)
        request = normalise(event, execution_name=name, max_duration_seconds=86_400)
    started = time.monotonic()
    try:
        execution_arn = c.sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(event))["executionArn"]
    except c.sfn.exceptions.ExecutionAlreadyExists:
        execution_arn = arn.replace(":stateMachine:", ":execution:") + f":{name}"
        if console:
            console.print(f"execution {name} exists already: following it")
    if console:
        console.print(f"execution [bold]{name}[/bold] started", highlight=False)
    definition = json.loads(c.sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    desc = follow(c.sfn, execution_arn, console=console, timeout=timeout, definition=definition,
                  on_timeout=lambda: c.sfn.stop_execution(executionArn=execution_arn, error="LocalTimeout",
                                                          cause="tapcase local investigate"))

    output = json.loads(desc.get("output") or "null") or {}
    if not isinstance(output, dict):
        output = {}
    investigation_id = output.get("investigation_id") or (request.investigation_id if request else None)
    if request is not None and request.trigger != "guardduty" and investigation_id is None:
        investigation_id = name.lower()
    report_summary = (output.get("report") or {}).get("summary")
    report_summary = report_summary if isinstance(report_summary, dict) else {}
    summary: dict[str, Any] = {
        "execution_arn": execution_arn,
        "status": desc["status"],
        "investigation_id": investigation_id,
        # the report's outcome when it says one (e.g. no_traffic), else how the execution ended
        "outcome": report_summary.get("outcome") or output.get("status"),
        "reason": output.get("reason"),
        "error": desc.get("error"),
        "cause": desc.get("cause"),
        "seconds": round(time.monotonic() - started, 2),
        "warnings": [*(output.get("warnings") or []), *(report_summary.get("warnings") or [])],
        "report": None,
        "leftovers": leftovers(c, investigation_id, request.instance_id, endpoint, request.account_id)
        if request is not None and investigation_id else {},
    }
    report = output.get("report") or {}
    if report.get("report_uri") and investigation_id:
        local = _download(c, report["report_uri"], out / investigation_id / "report.json")
        page = (_download(c, report["page_uri"], out / investigation_id / Path(report["page_uri"]).name)
                if report.get("page_uri") else None)
        for name in (REPORT_MARKDOWN, INDICATORS_CSV, INDICATORS_STIX):  # the rest of the report, beside them
            sibling = report["report_uri"].rsplit("/", 1)[0] + "/" + name
            try:
                _download(c, sibling, out / investigation_id / name)
            except c.s3.exceptions.ClientError:
                pass
        summary["report"] = {"s3_uri": report["report_uri"], "local_path": str(local),
                             "page_uri": report.get("page_uri"), "local_page": str(page) if page else None,
                             "headline": report.get("headline", [])}
    return summary


def run(
    *,
    finding: Path,
    pcap: Path | None,
    rules: Path | None,
    endpoint: str | None,
    as_json: bool,
    out: Path,
    time_scale: float,
    timeout: float = 600.0,
    verbose: bool = False,
    summary_to: Path | None = None,
) -> int:
    """The CLI: exit 0 only if the execution SUCCEEDED. The request, the capture and the rules are
    checked before a local cloud starts (a :class:`CliError` names what is wrong)."""
    from tapcase.local_inputs import check_capture, check_suricata_rules, load_json_object, quiet_functions
    from tapcase.localcloud.cloud import ACCOUNT_ID

    console = Console(stderr=True, soft_wrap=True)  # URIs and ids stay on one line
    event = load_json_object(finding)
    try:
        normalise(event, max_duration_seconds=86_400, account_id=ACCOUNT_ID, ignore_sample_findings=False)
    except TapcaseError as exc:
        if type(exc).__name__ != "NotAnEc2Finding":  # a non-EC2 finding runs: the workflow says "skipped"
            raise CliError(f"{finding}: {type(exc).__name__}: {exc}") from None
    if pcap is not None:
        check_capture(pcap, console)
    if rules is not None:
        check_suricata_rules(rules)
    if not verbose:
        out.mkdir(parents=True, exist_ok=True)
        quiet_functions(out / "functions.log")
    with ExitStack() as stack:
        if endpoint is None:
            from tapcase.localcloud import LocalCloud

            level = os.environ.get("TAPCASE_LOG_LEVEL", "INFO" if verbose else "WARNING")
            # The functions run in this process and print what AWS keeps in their logs: their
            # metrics (EMF) show with their INFO/DEBUG logs only.
            os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "false" if level in ("DEBUG", "INFO") else "true")
            endpoint = stack.enter_context(LocalCloud(time_scale=time_scale, parameters={"LogLevel": level})).endpoint
        try:
            summary = investigate_once(endpoint, event, pcap=pcap, rules=rules, out=out,
                                       console=None if as_json else console, timeout=timeout)
        except InvestigateError as exc:
            raise CliError(str(exc)) from None
    if summary_to is not None:
        summary_to.write_text(json.dumps(summary, indent=2))
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(console, summary)
        if not verbose:
            console.print(f"  functions' logs: {out / 'functions.log'} (--verbose shows them)", highlight=False)
    return 0 if summary["status"] == "SUCCEEDED" else 1


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    report = summary.get("report") or {}
    print_summary(console, {
        **summary,
        "report": {"report_uri": report.get("s3_uri"), "headline": report.get("headline")} if report else None,
        "local_report": report.get("local_path"),
        "local_page": report.get("local_page"),
    })
