"""The interpreter's service clients: one per (region, service, endpoint, task role), pointed at this cloud.

moto 5.2.5 built a boto3 client for every Task (slow, and GC pauses under load). Here clients are
cached and point at ``http://127.0.0.1:$MOTO_PORT``, read at every call, so that a new local
cloud on another port is followed. Inside ``mock_aws`` (in-process) moto intercepts the calls
itself and no endpoint is set. Each client sends requests as Step Functions builds them
(:mod:`.requests`: null members unset, services refusing what they refuse).

Who calls: Step Functions calls a task's service with the state machine's execution role (a
session of it, :mod:`tapcase.localcloud.service_sessions`), as on AWS; moto 5.2.5 signed every call
with the same default keys, so nothing could tell the state machine from anyone else.

A Task state's ``Credentials`` field ("Accessing resources in other AWS accounts in Step
Functions"; the Task state's ``Credentials``: ``RoleArn`` or ``RoleArn.$``: "a target role the
state machine's execution role must assume"): the execution role's session assumes that role for
the task and the service is called with its credentials, so the call acts in the role's account.
moto 5.2.5 evaluates the field but signs every call with the same keys (the default account). Here
the task's client is signed with a session of that role, made through STS AssumeRole signed by the
execution role's session, which refuses a role that does not exist or does not trust the execution
role (``AccessDenied``, :mod:`tapcase.localcloud.sts_trust`): the task then fails with
``States.Permissions`` (:class:`TaskRoleNotAssumed`, :mod:`.errors`). moto routes a request signed
by a role session into the role's account (its backends are keyed by account).
"""

from __future__ import annotations

import threading
from typing import Any

from tapcase.localcloud.patching import Patch, install
from tapcase.localcloud.sfn import requests

BOTO_CLIENT_FOR = Patch(
    target="moto.stepfunctions.parser.asl.utils.boto_client:boto_client_for",
    fixes="the interpreter reuses one client per service and follows the local cloud's port",
    relies_on="every Task of the interpreter gets its client from boto_client.boto_client_for"
    "(region, service, state_credentials), imported by name into the task modules",
    watch={"moto.stepfunctions.parser.asl.utils.boto_client:boto_client_for": "1f44dc2ac8aa"},
)

TASK_CREDENTIALS = Patch(
    target="moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task:StateTask._eval_state_credentials",
    fixes="a Task's Credentials role reaches the client factory as the task's role (without the field, the "
    "execution's own credentials)",
    relies_on="_eval_state_credentials returns StateCredentials(role_arn=execution role) without a Credentials "
    "field, else the evaluated role; every service task passes it to boto_client_for",
    watch={"moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task:"
           "StateTask._eval_state_credentials": "c3a8b53e139d"},
)

#: The task role's session is renewed this long before it expires (sessions last an hour).
_RENEW_SECONDS = 300.0
_clients: dict[tuple[str, str, str | None, str | None, str], Any] = {}
_sessions: dict[tuple[str, str | None, str | None], tuple[float, dict[str, str]]] = {}
#: Added to the interpreter's User-Agent (tapcase.localcloud.api_calls counts these as "states").
USER_AGENT = "tapcase-caller/states"
_clients_lock = threading.Lock()


#: Session name of the execution role's sessions.
EXECUTION_SESSION_NAME = "tapcase-states-execution"


class TaskRole:
    """The role of a Task state's ``Credentials`` field (as moto's StateCredentials: ``role_arn``),
    assumed by the execution role ``via``."""

    def __init__(self, role_arn: str, via: str | None = None) -> None:
        self.role_arn = role_arn
        self.via = via


class TaskRoleNotAssumed(Exception):
    """The execution role could not assume a task's ``Credentials`` role (STS's refusal inside)."""

    def __init__(self, role_arn: str, refusal: str) -> None:
        super().__init__(refusal)
        self.role_arn = role_arn


class _ExecutionRole:
    def __init__(self, role_arn: str) -> None:
        self.role_arn = role_arn


def _task_role_session(role_arn: str, via: str | None, region: str, endpoint: str | None) -> dict[str, str]:
    """Keys of a session of the task's role (AssumeRole by the execution role ``via``, as Step
    Functions does; kept until near expiry)."""
    import time

    from botocore.exceptions import ClientError

    from tapcase.localcloud import service_sessions

    key = (role_arn, via, endpoint)
    with _clients_lock:
        cached = _sessions.get(key)
    if (cached is not None and cached[0] - _RENEW_SECONDS > time.time()
            and service_sessions.known(cached[1]["aws_access_key_id"], role_arn)):
        return cached[1]
    base = boto_client_for(region, "sts", _ExecutionRole(via) if via else None)
    try:
        answer = base.assume_role(RoleArn=role_arn, RoleSessionName="tapcase-states")["Credentials"]
    except ClientError as exc:
        raise TaskRoleNotAssumed(role_arn, str(exc.response.get("Error", {}).get("Message", exc))) from exc
    creds = {"aws_access_key_id": answer["AccessKeyId"], "aws_secret_access_key": answer["SecretAccessKey"],
             "aws_session_token": answer["SessionToken"]}
    with _clients_lock:
        _sessions[key] = (answer["Expiration"].timestamp(), creds)
    return creds


def _keys(state_credentials: Any, region: str, endpoint: str | None) -> dict[str, str]:
    """Who signs: the task's ``Credentials`` role, else the execution role, else (no execution
    role known: a caller outside an execution) the local cloud's default keys."""
    if isinstance(state_credentials, TaskRole):
        return _task_role_session(state_credentials.role_arn, state_credentials.via, region, endpoint)
    role = getattr(state_credentials, "role_arn", None)
    if role:
        from tapcase.localcloud import service_sessions

        return service_sessions.session_of(str(role), EXECUTION_SESSION_NAME).client_kwargs()
    return {"aws_access_key_id": "ak", "aws_secret_access_key": "sk"}


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """The interpreter's client for a service (moto's signature): signed with a session of the
    Task's ``Credentials`` role when it has one, else with a session of the execution role."""
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    # In-process mock_aws intercepts calls itself; otherwise the server of this process answers.
    endpoint = None if botocore_stubber.enabled else f"http://127.0.0.1:{moto_server_port()}"
    keys = _keys(state_credentials, region, endpoint)
    role = getattr(state_credentials, "role_arn", None)
    key = (region, service, endpoint, role, keys["aws_access_key_id"])
    client = _clients.get(key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[:4] == key[:4]]:
                del _clients[stale]  # the role's previous session's client
            import boto3
            from botocore.config import Config
            from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

            for stale in [k for k in _clients if k[2] != endpoint]:
                del _clients[stale]  # a previous local cloud's port
            # A session per client: boto3's default session is not thread-safe.
            client = boto3.session.Session().client(
                service_name=service,
                region_name=region,
                endpoint_url=endpoint,
                **keys,
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    max_pool_connections=50,
                    user_agent_extra=USER_AGENT,  # counted as the state machine's calls (api_calls)
                ),
            )
            if service == "ec2":
                # Step Functions passes aws-sdk parameters as given (EC2 UserData must already be
                # base64, as with AWS's Java SDK); botocore would encode UserData a second time.
                from botocore.handlers import base64_encode_user_data

                client.meta.events.unregister("before-parameter-build.ec2.RunInstances", base64_encode_user_data)
            requests.register(client)  # null members unset, services refuse what they refuse
            _clients[key] = client
    return client


def _eval_state_credentials(self: Any, env: Any) -> Any:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials

    if not self.credentials:
        return StateCredentials(role_arn=env.aws_execution_details.role_arn)
    self.credentials.eval(env=env)
    return TaskRole(env.stack.pop().role_arn, via=env.aws_execution_details.role_arn)


def apply() -> None:
    install(BOTO_CLIENT_FOR, boto_client_for, everywhere=True)
    install(TASK_CREDENTIALS, _eval_state_credentials)
