"""The scheduler: APScheduler running the pool's recurring jobs, on one leader at a time.

Jobs are built from code at start (an in-memory job store: nothing pickled, so renaming
a function loses nothing). Every job re-checks leadership before it writes; a standby
polls the lock and takes over within `standby_poll` seconds of the leader dying.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
import threading
import time
from typing import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from chain.rpc import RpcUnavailable
from db.connection import DATABASE_UNAVAILABLE, drop_connection
from jobs.leader import Leadership
from jobs.pool import Pool
from jobs.registrations import RegistrationExpiry

log = logging.getLogger(__name__)


EXIT_LOST_LEADERSHIP = 3  # `manage.py scheduler`'s status when it stopped leading: restart it


class LostLeadership(RuntimeError):
    """Another process leads now; this one must stop writing."""


def recurring_jobs(pool: Pool) -> dict[str, Callable[[], object]]:
    """The recurring jobs by name: resolve open transactions, harvest (and guard TTLs and
    record compensations), settle leaving farmers, expire unfunded registrations."""
    return {
        "resolve_intents": pool.outbox.resolve_open,
        "harvest": pool.harvester.run_pass,
        "settle": pool.settler.run_pass,
        "expire_registrations": RegistrationExpiry(pool.client, pool.settings.registration_ttl_seconds).run_pass,
    }


class Scheduler:
    """Leads the pool's jobs while it holds the lock; stands by otherwise."""

    def __init__(self, pool: Pool, leadership: Leadership, standby_poll: float = 1.0):
        self.pool = pool
        self.leadership = leadership
        self.standby_poll = standby_poll
        self.stopping = threading.Event()
        self.lost = threading.Event()

    def run(self) -> bool:
        """Block: stand by until leader, then run the jobs until stopped or leadership is lost
        (the database going away loses it). Returns True when leadership was lost."""
        log.info("scheduler standing by for leadership")
        while not self.leadership.try_acquire():
            if self.stopping.wait(self.standby_poll):
                return False
        log.info("scheduler is the leader")
        interval = self.pool.settings.job_interval_seconds
        scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(4)},
                                        job_defaults={"coalesce": True, "max_instances": 1,
                                                      "misfire_grace_time": max(1, int(interval * 4))})
        for name, job in recurring_jobs(self.pool).items():
            scheduler.add_job(self._guarded(name, job), "interval", seconds=interval, id=name,
                              name=name, next_run_time=datetime.now(timezone.utc))
        scheduler.start()
        try:
            while not self.stopping.wait(self.standby_poll):
                if self.lost.is_set() or not self.leadership.still_leader():
                    log.error("scheduler lost leadership; stopping its jobs")
                    return True
            return False
        finally:
            scheduler.shutdown(wait=True)
            self.leadership.release()

    def _guarded(self, name: str, job: Callable[[], object]) -> Callable[[], None]:
        def run_job() -> None:
            if not self.leadership.still_leader():
                self.lost.set()
                return
            started = time.monotonic()
            try:
                result = job()
            except (*DATABASE_UNAVAILABLE, RpcUnavailable) as exc:  # an outage: the next run tries again
                drop_connection()
                log.warning("job %s: %s unavailable (%s)", name,
                            "RPC" if isinstance(exc, RpcUnavailable) else "database", type(exc).__name__)
                return
            except Exception:
                log.exception("job %s failed", name)
                return
            log.debug("job %s done in %.2fs: %s", name, time.monotonic() - started, result)

        return run_job

    def stop(self) -> None:
        """Ask `run` to return."""
        self.stopping.set()

