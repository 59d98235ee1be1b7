"""The sensor's deadline: it shuts itself down then, whatever it was told or not told.

Plan writes ``deadline`` (epoch seconds) into the sensor's configuration: past it, no state of
the investigation can still need the sensor. Powering off from inside the instance is an
instance-initiated shutdown; the sensor launch template sets its behaviour to ``terminate``, so
the instance is terminated (EC2 user guide, "Change the instance initiated shutdown behavior"):
a sensor whose workflow was stopped, crashed or lost its teardown does not run on for ever.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def power_off() -> None:
    """Power the instance off (instance-initiated shutdown)."""
    for command in (["systemctl", "poweroff"], ["shutdown", "-h", "now"]):
        if shutil.which(command[0]):
            subprocess.run(command, check=False)  # noqa: S603 - fixed commands
            return
    log.error("no systemctl or shutdown on this host: cannot power off")


class DeadlineWatch:
    """A thread that calls ``shutdown`` at ``deadline`` (epoch seconds, per ``clock``) unless
    ``stop`` is set first; then it sets ``stop``."""

    def __init__(self, deadline: float, shutdown: Callable[[], None], stop: threading.Event,
                 clock: Callable[[], float] = time.time) -> None:
        self.deadline, self.shutdown, self.stop, self.clock = deadline, shutdown, stop, clock
        self.fired = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tapcase-sensor-deadline", daemon=True)

    def start(self) -> DeadlineWatch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.is_set():
            remaining = self.deadline - self.clock()
            if remaining <= 0:
                log.warning("the sensor's deadline passed: shutting down")
                self.fired.set()
                try:
                    self.shutdown()
                finally:
                    self.stop.set()
                return
            self.stop.wait(min(remaining, 60.0))
