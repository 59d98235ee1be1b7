"""Headless Chromium (Debian's ``chromium`` package) driven over the DevTools protocol, network off.

Started with ``--headless --no-sandbox --disable-gpu --disable-background-networking
--disable-component-update --disable-sync --no-first-run``, a fresh ``--user-data-dir``, every host
resolved to nowhere (``--host-resolver-rules``), no proxy, and the page's network emulated offline;
the DevTools endpoint is found in ``DevToolsActivePort`` of the profile (port 0: the browser picks
one on 127.0.0.1).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--no-proxy-server", "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0", "--window-size=1280,2000", "--hide-scrollbars",
)


class Browser:
    """One page of a headless Chromium, with what its console and network did."""

    def __init__(self, binary: str) -> None:
        import websocket

        self.profile = Path(tempfile.mkdtemp(prefix="tapcase-chromium-"))
        self.proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError(f"chromium did not open its DevTools port (exit {self.proc.poll()})")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        target = self._page_target(port, deadline)
        self.ws = websocket.create_connection(target, timeout=30, suppress_origin=True)
        self._next = 0
        self.events: list[dict[str, Any]] = []

    @staticmethod
    def _page_target(port: int, deadline: float) -> str:
        import urllib.request

        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:  # noqa: S310
                    pages = [t for t in json.loads(resp.read()) if t.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromium has no page target")
            time.sleep(0.05)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for message in self.events:
            if message.get("method") == event:
                return message
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            self.events.append(message)
            if message.get("method") == event:
                return message
        raise TimeoutError(event)

    def open(self, path: Path) -> None:
        """Load a local file with the network off; wait until it has loaded."""
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1,
                  uploadThroughput=-1)
        self.call("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"page script failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def screenshot(self, dest: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        dest.write_bytes(base64.b64decode(data))
        return dest

    def console_errors(self) -> list[str]:
        errors = []
        for message in self.events:
            method, params = message.get("method"), message.get("params") or {}
            if method == "Runtime.exceptionThrown":
                errors.append(json.dumps(params.get("exceptionDetails"))[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(json.dumps(params.get("args"))[:300])
            elif method == "Log.entryAdded" and (params.get("entry") or {}).get("level") == "error":
                errors.append(str(params["entry"].get("text"))[:300])
        return errors

    def requests(self) -> list[str]:
        """Every URL the page asked for (the page's own file: URL included)."""
        return [m["params"]["request"]["url"] for m in self.events if m.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            shutil.rmtree(self.profile, ignore_errors=True)
