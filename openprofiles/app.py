"""The composition root: build_app(settings) wires the store, the clock, the outbound clients
(sinks), the periodic maintenance, the job runner with the handler of each kind of job, and the
gateway.

Nothing is opened at import time; each App owns its own store, so two Apps (two mock universes,
or a server and a test) never share state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openprofiles.clock import Clock
from openprofiles.config import Settings
from openprofiles.engine.calculated import backfill
from openprofiles.engine.dead_letters import deliver_dead_letters
from openprofiles.engine.domains import get_domain
from openprofiles.engine.expiry import sweep_expired
from openprofiles.engine.matching import identity_resolution
from openprofiles.engine.matching.runner import run_rule_based_matching
from openprofiles.engine.segments import snapshots
from openprofiles.engine.tenancy import Tenant
from openprofiles.jobs.periodic import Periodic
from openprofiles.jobs.runner import JobFailed, JobRunner, RunningJob
from openprofiles.sinks import files, sqs
from openprofiles.sinks.aws import Clients
from openprofiles.store.db import BACKGROUND_CONNECTIONS, Store, dialect_of


@dataclass
class App:
    settings: Settings
    store: Store
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        from openprofiles.gateway import Gateway  # the gateway imports services, which import us

        self.gateway = Gateway(self)
        self.sinks = Clients(self.settings)
        self.maintenance = Periodic(
            {
                "expired objects": self.sweep_expired,
                "dead letters": self.deliver_dead_letters,
                "rule-based matching": self.run_rule_based_matching,
                "identity resolution schedule": self.queue_identity_resolution,
            }
        )
        self.jobs = JobRunner(
            self.store,
            self.clock,
            {
                snapshots.KIND: self.write_snapshot,
                backfill.KIND: backfill.run_backfill,
                identity_resolution.KIND: self.resolve_identities,
            },
        )

    def write_snapshot(self, job: RunningJob) -> dict[str, Any]:
        """A segment snapshot job (see engine.segments.snapshots)."""
        return snapshots.write_snapshot(job, self.deliver_file, files.scratch_file)

    def resolve_identities(self, job: RunningJob) -> dict[str, Any]:
        """An identity resolution job (see engine.matching.identity_resolution)."""
        return identity_resolution.run_identity_resolution(job, self.deliver_file, files.scratch_file)

    def queue_identity_resolution(self) -> int:
        """Queue the identity resolution jobs whose weekly schedule has come; 0 once queued."""
        queued = identity_resolution.queue_scheduled_jobs(self.store, self.clock, self.jobs.submit)
        if queued:
            self.jobs.wake()
        return 0

    def start_identity_resolution(self, tenant: Tenant, domain_name: str) -> str:
        """Queue an identity resolution job for a domain now (the CLI's on-demand run) and wake
        the runner; the job's id."""
        with self.store.transaction() as conn:
            domain = get_domain(conn, tenant, domain_name)
            identity_resolution.require_matching(domain)
            job_id = self.jobs.submit(conn, domain["id"], identity_resolution.KIND, None, {"Trigger": "on demand"})
        self.jobs.wake()
        return job_id

    def deliver_file(self, uri: str, name: str, local: Path, encryption_key: str | None) -> str:
        """Put a result file in its destination folder (see sinks.files)."""
        try:
            return files.deliver(self.sinks, uri, name, local, encryption_key)
        except files.DestinationError as error:
            raise JobFailed(str(error)) from error

    def sweep_expired(self) -> int:
        """Delete one batch of expired objects (see engine.expiry)."""
        with self.store.transaction() as conn:
            return sweep_expired(conn, self.clock.now())

    def deliver_dead_letters(self) -> int:
        """Send one batch of dead letters to their domains' queues (see engine.dead_letters)."""
        return deliver_dead_letters(self.store, self.send_to_sqs, self.clock.now())

    def run_rule_based_matching(self) -> int:
        """Pass over the domains whose rule-based matching is due (see engine.matching.runner)."""
        return run_rule_based_matching(self.store, self.clock)

    def send_to_sqs(
        self, queue_url: str, messages: list[str], dedup_ids: list[str]
    ) -> dict[int, str]:
        """Send to a queue through the App's SQS client for its region (see sinks.sqs)."""
        return sqs.send(self.sinks.get("sqs", queue_url), queue_url, messages, dedup_ids)

    def close(self) -> None:
        self.maintenance.stop()
        self.jobs.stop()
        self.store.close()


def build_app(settings: Settings | None = None, clock: Clock | None = None) -> App:
    settings = settings or Settings.load()
    url = settings.db_url()
    store = Store(url, settings.worker_threads(dialect_of(url)) + BACKGROUND_CONNECTIONS)
    return App(settings, store, clock or Clock())
