"""`manage.py poolers`: the pool side of poolers (create one and print its API key)."""
from __future__ import annotations

import json

import click

from config import load_settings
from db.cli import open_database
from web.accounts import AccountError, create_pooler
from web.validation import stellar_account


def _account(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return stellar_account(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def account_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A pooler's or auditor's name: 1 to 100 characters after trimming."""
    value = value.strip()
    if not 1 <= len(value) <= 100:
        raise click.BadParameter("must be 1 to 100 characters")
    return value


@click.group()
def poolers() -> None:
    """Manage the pool's poolers (the agent on a GPU machine is `manage.py pooler`)."""


@poolers.command()
@click.option("--name", required=True, callback=account_name, help="Unique name farmers see.")
@click.option("--payout-address", required=True, callback=_account, help="G... account the pooler is paid to.")
@click.option("--share-bps", type=click.IntRange(0, 10_000), default=None,
              help="Pooler's share of rewards in basis points [default: KALEPOOL_POOLER_SHARE_BPS].")
@click.option("--capacity", type=click.IntRange(1, 100_000), default=None,
              help="Most farmers it takes [default: KALEPOOL_MAX_FARMERS_PER_POOLER].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line with id and api_key.")
def create(name: str, payout_address: str, share_bps: int | None, capacity: int | None, as_json: bool) -> None:
    """Create a pooler and print its API key (once; only its hash is stored)."""
    settings = load_settings()
    open_database(settings)
    share = settings.pooler_share_bps if share_bps is None else share_bps
    try:
        row, api_key = create_pooler(name, payout_address, share,
                                     settings.max_farmers_per_pooler if capacity is None else capacity)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"id": row.id, "name": row.name, "api_key": api_key}))
    else:
        click.echo(f"pooler {row.id} ({row.name}) created; share {share} bps, capacity {row.capacity}")
        click.echo(f"API key (shown once, keep it safe): {api_key}")
