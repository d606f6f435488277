"""`manage.py keys`: custodial key management (master key rotation)."""
from __future__ import annotations

import click

from chain.custody import Custody
from config import load_settings
from db.cli import open_database
from jobs.custody_rotation import rotate_master_key


@click.group()
def keys() -> None:
    """Custodial key management (master key rotation)."""


@keys.command()
def rotate() -> None:
    """Re-wrap every farmer's data key under a new master key, then retire the old one."""
    settings = load_settings()
    custody = Custody.from_settings(settings)
    open_database(settings)
    result = rotate_master_key(custody)
    click.echo(f"re-wrapped {result.rewrapped} data key(s) under master key {result.new_key_id} "
               f"in {custody.keystore.backend_name}; retired: {', '.join(result.retired) or 'none'}")
