"""The interpreter's service clients: one per (region, service, endpoint), pointed at this cloud.

moto 5.2.5 built a boto3 client for every Task (slow, and GC pauses under load). Here clients are
cached and point at ``http://127.0.0.1:$MOTO_PORT``, read at every call, so that a new local
cloud on another port is followed. Inside ``mock_aws`` (in-process) moto intercepts the calls
itself and no endpoint is set. Each client sends requests as Step Functions builds them
(:mod:`.requests`: null members unset, services refusing what they refuse).
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

_clients: dict[tuple[str, str, str | None], Any] = {}
#: Added to the interpreter's User-Agent (tapcase.localcloud.api_calls counts these as "states").
USER_AGENT = "tapcase-caller/states"
_clients_lock = threading.Lock()


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """The interpreter's client for a service (moto's signature; credentials are not used)."""
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    # In-process mock_aws intercepts calls itself; otherwise the server of this process answers.
    endpoint = None if botocore_stubber.enabled else f"http://127.0.0.1:{moto_server_port()}"
    key = (region, service, endpoint)
    client = _clients.get(key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
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
                aws_access_key_id="ak",
                aws_secret_access_key="sk",
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


def apply() -> None:
    install(BOTO_CLIENT_FOR, boto_client_for, everywhere=True)
