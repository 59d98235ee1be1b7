"""The local cloud: moto's server with tapcase's patches, in a thread of this process."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tapcase.localcloud import timescale

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

# Only one local cloud can run per process: moto's backends and the interpreter's endpoint
# (MOTO_PORT) are process-wide.
_active_lock = threading.Lock()
_active: LocalCloud | None = None


class LocalCloudError(RuntimeError):
    """The local cloud could not be started or used as asked."""


def active() -> LocalCloud | None:
    """The local cloud running in this process, if any."""
    return _active


class LocalCloud:
    """moto in server mode on 127.0.0.1, patched to behave like AWS where moto does not.

    >>> with LocalCloud(time_scale=0) as cloud:
    ...     sfn = cloud.client("stepfunctions")
    """

    def __init__(
        self,
        *,
        port: int = 0,
        region: str = DEFAULT_REGION,
        template: str | os.PathLike[str] | None = DEFAULT_TEMPLATE,
        parameters: dict[str, str] | None = None,
        time_scale: float | None = None,
        pcap: str | os.PathLike[str] | None = None,
    ) -> None:
        self.requested_port = port
        self.region = region
        self.template = Path(template) if template else None
        self.parameters = dict(parameters or {})
        self.time_scale = time_scale
        self.pcap = Path(pcap) if pcap else None
        self.account_id = ACCOUNT_ID
        self.port: int | None = None
        self.stack: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_scale: float | None = None
        self._clients: dict[tuple[str, str, str | None], Any] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise LocalCloudError("the local cloud is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalCloud:
        global _active
        from moto.core.config import default_user_config
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        class QuietRequestHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                if os.environ.get("TAPCASE_LOCAL_VERBOSE"):
                    super().log_request(*args, **kwargs)
        from werkzeug.serving import make_server

        from tapcase.localcloud.patches import apply_all

        if not _active_lock.acquire(blocking=False):
            raise LocalCloudError("a local cloud is already running in this process")
        try:
            apply_all()
            default_user_config["stepfunctions"] = {"execute_state_machine": True}
            default_user_config["lambda"] = {"use_docker": False}
            default_user_config["batch"] = {"use_docker": False}

            from tapcase.localcloud.api_calls import ApiCallCounter

            app = ApiCallCounter(_LocalRoutes(_PinRegion(DomainDispatcherApplication(create_backend_app), self.region), self))
            self._server = make_server(
                "127.0.0.1", self.requested_port, app, threaded=True, request_handler=QuietRequestHandler
            )
            self.port = int(self._server.server_address[1])
            self._set_env(
                {
                    "MOTO_PORT": str(self.port),
                    "AWS_ENDPOINT_URL": self.endpoint,
                    "AWS_DEFAULT_REGION": self.region,
                    "AWS_REGION": self.region,
                    "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "testing",
                    "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "testing",
                    "TAPCASE_LOCAL_ENDPOINT": self.endpoint,
                }
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="tapcase-localcloud", daemon=True
            )
            self._thread.start()
            self._reset_backends()
            if self.time_scale is not None:
                self._saved_scale = timescale.get_scale()
                timescale.set_scale(self.time_scale)
            _active = self
            from tapcase.localcloud import sensors

            sensors.set_capture(self.pcap)
            if self.template is not None:
                from tapcase.localcloud.deploy import deploy_template

                self.stack = deploy_template(self, self.template, self.local_parameters())
            from tapcase.localcloud import scheduler

            scheduler.start_ticker(self.region, lambda: _active is self)
        except BaseException:
            self._shutdown()
            raise
        return self

    def stop(self) -> None:
        self._shutdown()

    def local_parameters(self) -> dict[str, str]:
        """Template parameters, with local stand-ins for those only AWS can fill (an AMI id)."""
        from tapcase.localcloud.cfn import load_template

        params = dict(self.parameters)
        declared = load_template(self.template).get("Parameters", {}) if self.template else {}
        for name, spec in declared.items():
            if name not in params and "Default" not in spec and spec.get("Type") == "AWS::EC2::Image::Id":
                from tapcase.localcloud.seed import amazon_image_id

                params[name] = amazon_image_id(self.client("ec2"))
        return params

    def _shutdown(self) -> None:
        global _active
        try:
            from tapcase.localcloud import sensors

            sensors.stop_all()
        except ImportError:
            pass
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        if self._saved_scale is not None:
            timescale.set_scale(self._saved_scale)
            self._saved_scale = None
        self._clients.clear()
        if _active is self:
            _active = None
        if _active_lock.locked() and _active is None:
            try:
                _active_lock.release()
            except RuntimeError:
                pass

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (used by ``tapcase local serve``)."""
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass

    # -- helpers -----------------------------------------------------------------------------
    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _reset_backends(self) -> None:
        from moto.moto_api._internal.models import moto_api_backend

        from tapcase.localcloud.mirroring import dataplane, ledger

        moto_api_backend.reset()
        ledger.reset()
        dataplane.reset()

    def client(self, service: str, region: str | None = None, account: str | None = None) -> Any:
        """A boto3 client pointed at the local cloud (cached per service, region and account).

        ``account``: another simulated account than the stack's (a member account). Its requests
        carry moto's ``x-moto-account-id`` header: the administrator of that account, as the
        StackSet execution role or an operator there would be (the workflow itself reaches member
        accounts only by assuming their member role)."""
        key = (service, region or self.region, account)
        if key not in self._clients:
            client = boto3.client(
                service,
                region_name=key[1],
                endpoint_url=self.endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"max_attempts": 1, "mode": "standard"}),
            )
            if account is not None and account != self.account_id:
                def as_account(request: Any, **_: Any) -> None:
                    request.headers["x-moto-account-id"] = account

                client.meta.events.register("before-sign", as_account)
            self._clients[key] = client
        return self._clients[key]

    def deploy_member_account(self, account: str, parameters: dict[str, str] | None = None) -> Any:
        """Deploy the member template (``sensor_image/member/member.yaml``) in another simulated
        account, as a StackSet instance would: the member role trusting this account, the sensor's
        role, instance profile and launch template there. The stack's ``MemberRoleName`` is passed on."""
        from tapcase.localcloud.deploy import deploy_template
        from tapcase.localcloud.seed import amazon_image_id
        from tapcase.member_template import MEMBER_TEMPLATE

        view = _AccountView(self, account)
        params = {"AdministratorAccountId": self.account_id, "SensorAmiId": amazon_image_id(view.client("ec2"))}
        if self.stack is not None and "MemberRoleName" in self.stack.parameters:
            params["MemberRoleName"] = str(self.stack.parameters["MemberRoleName"])
        params.update(parameters or {})
        return deploy_template(view, MEMBER_TEMPLATE, params, stack_name="tapcase-member")

    def delete_stack(self) -> None:
        """Delete the deployed stack as CloudFormation's DeleteStack does (:mod:`tapcase.localcloud.undeploy`):
        its custom resources answer Delete first, retained resources stay; ``StackDeletionFailed``
        leaves the rest in place (``self.stack`` keeps what is left, so it can be deleted again)."""
        from tapcase.localcloud.undeploy import delete_stack

        if self.stack is None:
            raise LocalCloudError("no template is deployed")
        delete_stack(self, self.stack)
        self.stack = None

    def fire_schedule(self, name: str, group: str | None = None) -> str:
        """Fire an EventBridge Scheduler schedule now (see :mod:`tapcase.localcloud.scheduler`): the
        ARN of the execution it started."""
        from tapcase.localcloud import scheduler

        return scheduler.fire(self.region, name, group)

    def resource(self, logical_id: str) -> str:
        """Physical id (name, URL or ARN as ``Ref`` gives it) of a deployed template resource."""
        if self.stack is None:
            raise LocalCloudError("no template is deployed")
        return self.stack.ref(logical_id)


class _AccountView:
    """The local cloud as one of its other simulated accounts sees it (for the deployer)."""

    def __init__(self, cloud: LocalCloud, account: str) -> None:
        self.cloud = cloud
        self.account_id = account
        self.region = cloud.region

    def client(self, service: str, region: str | None = None) -> Any:
        return self.cloud.client(service, region, account=self.account_id)


class _PinRegion:
    """WSGI middleware: the local cloud serves one region, whatever region a client signs for.

    moto keeps one backend per region and takes the region from the SigV4 credential scope; a
    client configured for another region would otherwise see an empty cloud.
    """

    _SCOPE = re.compile(r"(Credential=[^/]+/\d{8}/)([a-z0-9-]+)(/)")

    def __init__(self, app: Any, region: str) -> None:
        self.app = app
        self.region = region

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        auth = environ.get("HTTP_AUTHORIZATION")
        if auth:
            environ["HTTP_AUTHORIZATION"] = self._SCOPE.sub(rf"\g<1>{self.region}\g<3>", auth, count=1)
        query = environ.get("QUERY_STRING", "")
        if "X-Amz-Credential=" in query:  # presigned URLs
            environ["QUERY_STRING"] = re.sub(
                r"(X-Amz-Credential=[^&%]+(?:%2F|/)\d{8}(?:%2F|/))([a-z0-9-]+)", rf"\g<1>{self.region}", query
            )
        return self.app(environ, start_response)


class _LocalRoutes:
    """tapcase's own endpoints under ``/_tapcase/`` (JSON), for a CLI talking to ``local serve``:

    - ``POST /_tapcase/seed`` ``{"instance_details": {...}}``: create the finding's instance (if absent);
    - ``POST /_tapcase/capture`` ``{"pcap": PATH|null, "rules": PATH|null}``: the traffic of the suspect's
      network interfaces (sensors launched from now on receive what the mirror sessions deliver of it);
    - ``GET /_tapcase/sensors``: ids of running local sensors;
    - ``POST /_tapcase/scheduler/fire`` ``{"name": ..., "group": ...}``: fire an EventBridge Scheduler
      schedule now (``{"execution_arn": ...}``);
    - ``GET /_tapcase/holdings`` (``?sizes=1``): what the cloud holds, per holder (:mod:`.holdings`).
    """

    def __init__(self, app: Any, cloud: LocalCloud) -> None:
        self.app = app
        self.cloud = cloud

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_tapcase/"):
            return self.app(environ, start_response)
        import json

        from tapcase.localcloud import sensors
        from tapcase.localcloud.seed import SeedError, seed_instance

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            if path == "/_tapcase/seed" and environ["REQUEST_METHOD"] == "POST":
                result: Any = seed_instance(self.cloud.client("ec2"), body["instance_details"], self.cloud.region)
            elif path == "/_tapcase/capture" and environ["REQUEST_METHOD"] == "POST":
                for key in ("pcap", "rules"):
                    if body.get(key) and not Path(body[key]).is_file():
                        raise SeedError(f"{key} {body[key]} is not a file on the local cloud's machine")
                sensors.set_capture(body.get("pcap"), body.get("rules"))
                result = {"pcap": body.get("pcap"), "rules": body.get("rules")}
            elif path == "/_tapcase/sensors":
                result = {"running": sensors.running()}
            elif path == "/_tapcase/holdings":
                from tapcase.localcloud.holdings import holdings

                sizes = "sizes=1" in environ.get("QUERY_STRING", "")
                result = holdings(self.cloud.account_id, self.cloud.region, sizes=sizes)
            elif path == "/_tapcase/scheduler/fire" and environ["REQUEST_METHOD"] == "POST":
                result = {"execution_arn": self.cloud.fire_schedule(body["name"], body.get("group"))}
            else:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [json.dumps({"error": f"no such endpoint {path}"}).encode()]
            status = "200 OK"
        except (SeedError, KeyError, ValueError) as exc:
            status, result = "400 Bad Request", {"error": str(exc)}
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]


@contextmanager
def running(**kwargs: Any) -> Iterator[LocalCloud]:
    with LocalCloud(**kwargs) as cloud:
        yield cloud
