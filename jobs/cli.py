"""`manage.py scheduler`: run the pool's recurring jobs (one leader, others on hot standby)."""
from __future__ import annotations

import signal
import sys

import click

from config import load_settings
from config.logs import configure_logging
from db.cluster import ClusterError, database_url
from db.connection import init_database
from jobs.leader import Leadership
from jobs.pool import build_pool
from jobs.scheduler import EXIT_LOST_LEADERSHIP, Scheduler


@click.command()
@click.option("--interval", type=click.FloatRange(0.05, 3600), default=None,
              help="Seconds between job runs (default: KALEPOOL_JOB_INTERVAL_SECONDS).")
def scheduler(interval: float | None) -> None:
    """Run the scheduled jobs: resolve transactions, harvest, guard TTLs, settle exits.

    Several schedulers may run against one database: one leads (a PostgreSQL advisory
    lock), the others stand by and take over within a second of the leader dying. A standby
    waits out a database outage; a leader that loses the lock (or its database) exits with
    status 3 so that a supervisor restarts it as a standby.
    """
    settings = load_settings(job_interval_seconds=interval)
    configure_logging(settings.log_level)
    try:
        url = database_url(settings)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None
    init_database(url)
    runner = Scheduler(build_pool(settings), Leadership(url))
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    try:
        lost = runner.run()
    except KeyboardInterrupt:
        runner.stop()
        return
    if lost:
        sys.exit(EXIT_LOST_LEADERSHIP)
