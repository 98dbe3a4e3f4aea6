"""The composition root: build_app(settings) wires the store, the clock and the gateway.

Nothing is opened at import time; each App owns its own store, so two Apps (two mock universes,
or a server and a test) never share state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openprofiles.clock import Clock
from openprofiles.config import Settings
from openprofiles.engine.expiry import sweep_expired
from openprofiles.jobs.periodic import Periodic
from openprofiles.store.db import Store


@dataclass
class App:
    settings: Settings
    store: Store
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        from openprofiles.gateway import Gateway  # the gateway imports services, which import us

        self.gateway = Gateway(self)
        self.maintenance = Periodic({"expired objects": self.sweep_expired})

    def sweep_expired(self) -> int:
        """Delete one batch of expired objects (see engine.expiry)."""
        with self.store.transaction() as conn:
            return sweep_expired(conn, self.clock.now())

    def close(self) -> None:
        self.maintenance.stop()
        self.store.close()


def build_app(settings: Settings | None = None, clock: Clock | None = None) -> App:
    settings = settings or Settings.load()
    return App(settings, Store(settings.db_url()), clock or Clock())
