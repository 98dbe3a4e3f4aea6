"""Periodic maintenance of a running server (the tasks App wires: expiry sweep, dead-letter
delivery, ...), on a daemon thread.

Each round runs every task until it reports no more work, then sleeps. Tests do not start the
thread: they move the App's clock and call ``run_once`` themselves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("openprofiles.jobs")

Task = Callable[[], int]


class Periodic:
    def __init__(self, tasks: dict[str, Task], interval: float = 60.0) -> None:
        self.tasks = tasks
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, int]:
        """Run every task until it has nothing left; how many items each handled."""
        done = {}
        for name, task in self.tasks.items():
            total = 0
            while (handled := task()) > 0:
                total += handled
            done[name] = total
        return done

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                done = self.run_once()
                if any(done.values()):
                    log.info("maintenance: %s", done)
            except Exception:
                log.exception("maintenance round failed; retrying next round")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="openprofiles-periodic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
