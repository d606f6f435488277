"""The one logging set-up every long-running command uses: level from its option, one line per record."""
from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str | int = "INFO") -> None:
    """Send log records to stderr at `level` ("info", "DEBUG", logging.WARNING, ...)."""
    logging.basicConfig(level=level.upper() if isinstance(level, str) else level, format=FORMAT)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise
