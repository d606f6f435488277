"""Command line for the pooler agent (`manage.py pooler` runs `pooler_agent`) and its benchmark."""
from __future__ import annotations

import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from stellar_sdk import Keypair

from chain.rpc import ChainClient
from config import ConfigError, Network, load_settings
from config.networks import NETWORKS
from gpu_miner.agent.board import AgentConfig, AgentStopped
from gpu_miner.agent.channels import Channels, Funding
from gpu_miner.agent.coordinator import Agent
from gpu_miner.agent.pool_client import PoolClient, pool_host
from gpu_miner.agent.state_file import StateFile, StateFileError
from gpu_miner.agent.view import JsonLines, Terminal
from gpu_miner.search.cli import OneLineErrors
from gpu_miner.search.searcher import DEVICES, open_searcher

SECRET_ENV = "KALEPOOL_POOLER_SECRET"
API_KEY_ENV = "KALEPOOL_POOLER_API_KEY"


def read_private_file(path: str, what: str) -> str:
    """The stripped text of a file no other user can read or write; a one-line error otherwise.

    Secrets come from files or the environment, never the command line, where every local
    user can read them in the process list.
    """
    try:
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            raise click.ClickException(f"{what} {path} is open to other users (mode {mode:03o}); "
                                       f"chmod 600 {path}")
        return Path(path).read_text().strip()
    except OSError as exc:
        raise click.ClickException(f"cannot read {what} {path}: {exc.strerror}") from None


def read_api_key(api_key_file: str | None, environ: dict[str, str] | None = None) -> str:
    """The pooler's API key from --api-key-file or $KALEPOOL_POOLER_API_KEY (never an argument)."""
    environ = os.environ if environ is None else environ
    if api_key_file is not None:
        key = read_private_file(api_key_file, "API key file")
    else:
        key = environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise click.ClickException(f"set {API_KEY_ENV} or give --api-key-file PATH (mode 600) holding the "
                                   "pooler's API key (kpp_...)")
    return key


def read_secret(secret_file: str | None, environ: dict[str, str] | None = None) -> Keypair:
    """The pooler's keypair from --secret-file or $KALEPOOL_POOLER_SECRET; errors never show the key."""
    environ = os.environ if environ is None else environ
    if secret_file is not None:
        text, origin = read_private_file(secret_file, "secret file"), f"secret file {secret_file}"
    elif environ.get(SECRET_ENV):
        text, origin = environ[SECRET_ENV].strip(), f"${SECRET_ENV}"
    else:
        raise click.ClickException(f"give --secret-file PATH or set {SECRET_ENV} (the pooler's S... key)")
    try:
        return Keypair.from_secret(text)
    except Exception:
        raise click.ClickException(f"{origin} does not hold a valid Stellar secret key (S...)") from None


def friendbot_url(network: Network) -> str | None:
    """Friendbot next to the RPC on the devnet (its URL follows --rpc), the public one on testnet."""
    if network.name == "devnet":
        base = network.rpc_url.rstrip("/")
        return (base[: -len("/rpc")] if base.endswith("/rpc") else base) + "/friendbot"
    return network.friendbot_url


def build_agent(pool: str, api_key_file: str | None, rpc: str | None, network: str | None, secret_file: str | None,
                state_file: str | None, device: str, json_lines: bool, fund_with_friendbot: bool | None,
                config: AgentConfig, events: Any = None) -> Agent:
    """An agent wired to the pool, the chain, the device and the state file, from CLI values."""
    try:
        settings = load_settings(network_name=network, rpc_url=rpc)
        host = pool_host(pool)
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    chain_network = settings.network
    api_key = read_api_key(api_key_file)
    pooler = read_secret(secret_file)
    if fund_with_friendbot is None:
        fund_with_friendbot = chain_network.name == "devnet"
    faucet = friendbot_url(chain_network) if fund_with_friendbot else None
    if fund_with_friendbot and faucet is None:
        raise click.ClickException(f"{chain_network.name} has no friendbot: fund the pooler account instead")
    client = ChainClient(chain_network)
    funding = Funding(friendbot_url=faucet, base_fee=settings.base_fee_stroops,
                      timeout=settings.tx_timeout_seconds)
    try:
        searcher = open_searcher(device)
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(f"{device} device: {exc}") from None
    path = state_file or str(settings.state_dir / f"pooler-{host}.json")
    config = replace(config, base_fee=settings.base_fee_stroops, tx_timeout=settings.tx_timeout_seconds)
    return Agent(client, PoolClient(pool, api_key), searcher, pooler, Channels(client, pooler, funding),
                 StateFile(path), events or (JsonLines() if json_lines else Terminal()), config)


def run_agent(agent: Agent) -> None:
    """Run until done; SIGTERM and Ctrl-C stop it cleanly (the state file is saved)."""
    previous = signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    try:
        agent.run()
    except KeyboardInterrupt:
        agent.stop()
    except AgentStopped as exc:
        raise click.ClickException(str(exc)) from None
    except StateFileError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def agent_options(function):
    """The options the agent and its benchmark share."""
    options = [
        click.option("--pool", required=True, help="Pool URL, e.g. http://127.0.0.1:5000"),
        click.option("--api-key-file", type=click.Path(dir_okay=False),
                     help=f"File (mode 600) holding the pooler's API key (kpp_...); or ${API_KEY_ENV}."),
        click.option("--rpc", help="Stellar RPC URL (default: the network's)."),
        click.option("--network", type=click.Choice(sorted(NETWORKS)),
                     help="Network profile (default: $KALEPOOL_NETWORK or devnet)."),
        click.option("--secret-file", type=click.Path(dir_okay=False),
                     help=f"File (mode 600) holding the pooler's S... key (or ${SECRET_ENV}); never logged or sent."),
        click.option("--state-file", type=click.Path(dir_okay=False),
                     help="Local file of found and sent work (default: <state dir>/pooler-<pool host>.json)."),
        click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICES),
                     help="opencl, cpu (numba), or auto (opencl if any device exists)."),
        click.option("--json", "json_lines", is_flag=True, help="One JSON object per line per event."),
        click.option("--margin-ledgers", default=2, show_default=True, type=click.IntRange(0, 50),
                     help="Land the work this many ledgers before the last one that closes before T + 300."),
        click.option("--min-extra-zeros", default=1, show_default=True, type=click.IntRange(1, 64),
                     help="Resubmit a farmer's work when the best hash has this many more zeros."),
        click.option("--channels", "max_channels", default=100, show_default=True, type=click.IntRange(1, 1000),
                     help="Most channel accounts (one work transaction each per ledger)."),
        click.option("--fund-with-friendbot/--no-fund-with-friendbot", default=None,
                     help="Fund the pooler and channel accounts with friendbot (default: on for devnet only)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.command("pooler", cls=OneLineErrors)
@agent_options
@click.option("--blocks", type=click.IntRange(1), help="Stop after this many blocks are done.")
def pooler_agent(pool: str, api_key_file: str | None, rpc: str | None, network: str | None, secret_file: str | None,
                 state_file: str | None, device: str, json_lines: bool, margin_ledgers: int,
                 min_extra_zeros: int, max_channels: int, fund_with_friendbot: bool | None,
                 blocks: int | None) -> None:
    """Run a pooler agent: get this pooler's farmers planted each KALE block, hash for them on this
    machine's device, submit their work late in the block for a large gap, and report it to the pool."""
    config = AgentConfig(margin_ledgers=margin_ledgers, min_extra_zeros=min_extra_zeros,
                         max_channels=max_channels, max_blocks=blocks)
    run_agent(build_agent(pool, api_key_file, rpc, network, secret_file, state_file, device, json_lines,
                          fund_with_friendbot, config))


class _Recorder:
    """Events to stderr as JSON lines, keeping each block_done for the summary."""

    def __init__(self) -> None:
        self.lines = JsonLines(sys.stderr)
        self.done: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> None:
        if event == "block_done":
            self.done.append(fields)
        self.lines.emit(event, **fields)

    def show(self, snapshot: dict[str, Any]) -> None:
        pass


@click.command("pooler", cls=OneLineErrors)
@agent_options
@click.option("--blocks", default=3, show_default=True, type=click.IntRange(1),
              help="Blocks to run before printing the figures.")
def bench_pooler(pool: str, api_key_file: str | None, rpc: str | None, network: str | None, secret_file: str | None,
                 state_file: str | None, device: str, json_lines: bool, margin_ledgers: int,
                 min_extra_zeros: int, max_channels: int, fund_with_friendbot: bool | None, blocks: int) -> None:
    """Run the agent for BLOCKS blocks and print, per block, the device's idle share while planted
    farmers were unfinished (events go to stderr)."""
    recorder = _Recorder()
    config = AgentConfig(margin_ledgers=margin_ledgers, min_extra_zeros=min_extra_zeros,
                         max_channels=max_channels, max_blocks=blocks)
    agent = build_agent(pool, api_key_file, rpc, network, secret_file, state_file, device, json_lines,
                        fund_with_friendbot, config, events=recorder)
    run_agent(agent)
    for done in recorder.done:
        click.echo(f"block {done['block']}: {done['worked']}/{done['farmers']} farmers worked, "
                   f"{done['hashes'] / max(done['busy_seconds'], 1e-9) / 1e6:.2f} MH/s, device idle "
                   f"{done['idle_seconds']:.3f} s of {done['wall_seconds']:.3f} s "
                   f"({100 * done['idle_fraction']:.2f} %)")
    if recorder.done:
        idle = sum(d["idle_seconds"] for d in recorder.done)
        wall = sum(d["wall_seconds"] for d in recorder.done)
        click.echo(f"total: device idle {100 * idle / max(wall, 1e-9):.2f} % of block wall time "
                   f"while planted farmers were unfinished")


if __name__ == "__main__":  # `python -m gpu_miner.agent.cli`, as tests and `up` may run it
    pooler_agent()
