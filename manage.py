#!/usr/bin/env python3
"""kalepool: one command line for running and operating a KALE mining pool.

Each command lives in the package that does the work and is imported only when
it runs, so `manage.py --help` is instant and a pooler machine never imports
the database layer.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from config import ConfigError

# name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "up": ("local.up", "up", "Run the whole pool on this machine (database, devnet, API, jobs, pooler)."),
    "devnet": ("devnet.cli", "devnet", "Run a local Stellar network with the KALE contracts."),
    "serve": ("web.cli", "serve", "Serve the JSON API under gunicorn."),
    "db": ("db.cli", "db", "Database schema: migrate, status."),
    "keys": ("jobs.custody_cli", "keys", "Custodial key management (master key rotation)."),
    "pooler": ("gpu_miner.agent.cli", "pooler_agent", "Run a pooler agent on a GPU machine."),
    "poolers": ("web.pooler_cli", "poolers", "Manage the pool's poolers (create)."),
    "auditor": ("web.cli", "auditor", "Manage auditor tokens."),
    "miner": ("gpu_miner.search.cli", "miner", "Search KALE nonces on this machine's devices."),
    "scheduler": ("jobs.cli", "scheduler", "Run the scheduled jobs (one leader, hot standby)."),
    "indexer": ("indexer.cli", "indexer", "Index the chain into PostgreSQL."),
    "audit": ("indexer.cli", "audit", "Reconcile pool records with the chain; non-zero exit on discrepancies."),
}

BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "miner": ("gpu_miner.search.cli", "bench_miner", "Sustained nonce-search hash rate per device."),
    "devnet": ("devnet.bench", "bench_devnet", "Devnet transaction throughput and simulate latency."),
    "api": ("local.bench_api", "bench_api", "API requests/s and latency under load."),
    "pages": ("web.pages.bench", "bench_pages", "Web app: server time of every page with 1,000 farmers."),
    "plant": ("local.bench_plant", "bench_plant", "Time to plant N farmers after a plant request."),
    "indexer": ("local.bench_indexer", "bench_indexer", "Indexer backfill rate and steady-state lag."),
    "pooler": ("gpu_miner.agent.cli", "bench_pooler", "Pooler agent: device idle share per block."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, tuple[str, str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def _available(self, name: str) -> bool:
        try:
            return importlib.util.find_spec(self.lazy[name][0]) is not None
        except ModuleNotFoundError:  # its package does not exist yet
            return False

    def list_commands(self, ctx: click.Context) -> list[str]:
        lazy = (name for name in self.lazy if self._available(name))
        return sorted({*self.commands, *lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        if name not in self.lazy or not self._available(name):
            return None
        module, attribute, _ = self.lazy[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy[name][2] if name in self.lazy
                 else self.commands[name].get_short_help_str())
                for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """kalepool: run a KALE mining pool on Stellar.

    Settings come from the environment (DATABASE_URL, KALEPOOL_NETWORK,
    KALEPOOL_RPC_URL, KALEPOOL_CONFIG, KALEPOOL_...); see the README.
    """


@cli.group(cls=LazyGroup, lazy=BENCHMARKS)
def bench() -> None:
    """Benchmarks that print measured figures (rates, latencies)."""


def main() -> None:
    """Run the CLI; a configuration error is one line on stderr and exit status 2."""
    try:
        cli.main(standalone_mode=False)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
