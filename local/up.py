"""`manage.py up`: the whole pool on one machine, farming real blocks on the devnet.

It starts (or reuses) PostgreSQL, applies migrations, starts the devnet, the API under
gunicorn, the scheduler, the indexer and one pooler agent per pooler, each a supervised
child restarted if it dies. On the first run it creates demo poolers and farmers the way
real ones come; later runs resume them. It shows a live view until Ctrl-C, or with
`--blocks N` runs N blocks, has one farmer exit after the first, waits for its settlement,
and prints a JSON summary as its last line (exit status 0 only if everything checks out).
"""
from __future__ import annotations

import json
import os
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from chain.keystore import keystore_for
from config.ports import free_port
from devnet.controller import LocalDevnet
from config import NETWORKS, ConfigError, load_settings
from config.ports import port_is_free
from config.up_state import AlreadyRunning, claim, record_rpc_url, release
from db.cluster import ClusterError, private_cluster
from db.connection import DATABASE_UNAVAILABLE, drop_connection, init_database
from db.migrate import migrate
from local.acceptance import BlocksRun
from local.dashboard import Dashboard
from local.run_state import RunState
from local.demo import Demo, pooler_secret, populate
from local.supervisor import MANAGE, Child, Supervisor

API_KEY_ENV = "KALEPOOL_POOLER_API_KEY"  # what `manage.py pooler` reads (gpu_miner may not be imported here)

LEDGERS_PER_BLOCK = 60
log = logging.getLogger(__name__)


@click.command()
@click.option("--farmers", type=click.IntRange(1, 1000), default=3, show_default=True,
              help="Demo farmers to create on the first run.")
@click.option("--poolers", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Demo poolers (each runs its own agent) to create on the first run.")
@click.option("--blocks", type=click.IntRange(1, 10_000), default=None,
              help="Run this many blocks, settle one exiting farmer, print a JSON summary and exit.")
@click.option("--block-seconds", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
              help="Wall seconds per KALE block on the devnet (a block is 60 ledgers).")
@click.option("--api-port", type=click.IntRange(1, 65535), default=None, help="API port [default: a free one].")
@click.option("--device", type=click.Choice(["auto", "opencl", "cpu"]), default="auto", show_default=True,
              help="Nonce-search device for the pooler agents.")
@click.option("--network", type=click.Choice(sorted(NETWORKS)), default=None,
              help="devnet (the default, or KALEPOOL_NETWORK) rehearses locally; testnet/mainnet run the "
                   "same pool against that network: no devnet, no demo farmers.")
@click.option("--rpc-url", default=None, help="testnet/mainnet: the Stellar RPC [default: the profile's].")
def up(farmers: int, poolers: int, blocks: int | None, block_seconds: float, api_port: int | None,
       device: str, network: str | None, rpc_url: str | None) -> None:
    """Run the whole pool on this machine, on a local devnet by default, with a live view.

    State lives under KALEPOOL_STATE_DIR (default ./var): the private database, the
    devnet's chain, logs (var/log/), pids (var/run/). Ctrl-C stops everything cleanly;
    running `up` again resumes where it stopped. With --network testnet|mainnet the same
    processes run against that network (see the README for what must exist first); with
    $KALEPOOL_POOLER_API_KEY and $KALEPOOL_POOLER_SECRET set, also an agent for that pooler.
    """
    pooler_api_key = os.environ.get(API_KEY_ENV)
    settings = load_settings(network_name=network, rpc_url=rpc_url)
    live = settings.network_name != "devnet"
    if live and blocks is not None:
        raise click.UsageError("--blocks rehearses with demo farmers, on the devnet only")
    state = Path(settings.state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    try:
        if live:
            keystore_for(settings)  # refuse now, in one line, when custody has no acceptable keyring
        claim(state)
    except (AlreadyRunning, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        summary = _run(settings, state, farmers, poolers, blocks, block_seconds, api_port, device,
                       pooler_api_key)
    finally:
        release(state)
    if summary is not None:
        click.echo(json.dumps(summary))
        sys.exit(0 if summary["ok"] else 1)


def _run(settings, state: Path, farmers: int, poolers: int, blocks: int | None, block_seconds: float,
         api_port: int | None, device: str, pooler_api_key: str | None) -> dict | None:
    """Start everything, drive it until done or Ctrl-C, stop it all; the --blocks summary or None."""
    live = settings.network_name != "devnet"
    stopping = _stop_on_signals()
    supervisor = Supervisor(state / "log", state / "run", base_env={})
    summary = None
    try:
        ports = _ports(state / "up.json", api_port)
        database_url = _database(settings.database_url, state, supervisor)
        devnet = None if live else LocalDevnet(state / "devnet", port=ports["devnet_port"],
                                               close_interval=block_seconds / LEDGERS_PER_BLOCK)
        rpc = settings.rpc_url if devnet is None else devnet.rpc_url
        run_settings = load_settings(network_name=settings.network_name, rpc_url=rpc, database_url=database_url,
                                     state_dir=str(state))
        interval = 5.0 if live else max(0.2, min(5.0, block_seconds / LEDGERS_PER_BLOCK * 2))
        supervisor.base_env.update({
            "DATABASE_URL": database_url, "KALEPOOL_NETWORK": settings.network_name, "KALEPOOL_RPC_URL": rpc,
            "KALEPOOL_STATE_DIR": str(state), "KALEPOOL_JOB_INTERVAL_SECONDS": str(interval)})
        api_url = _start_pool(supervisor, devnet, ports["api_port"], state / "log")
        if devnet is not None:
            record_rpc_url(state, rpc)
        _announce(api_url, rpc, state, devnet is not None)
        demo = None
        if devnet is not None:
            keystore = keystore_for(run_settings)
            demo = _demo(state, run_settings, keystore, devnet, api_url, poolers, farmers)
            for pooler in demo.poolers:
                supervisor.add(_agent(f"pooler-{pooler.id}", api_url, pooler.api_key, run_settings, device,
                                      state, {"KALEPOOL_POOLER_SECRET": pooler_secret(keystore, pooler.id)}))
        elif pooler_api_key:
            supervisor.add(_agent("pooler", api_url, pooler_api_key, run_settings, device, state, {}))
        run = RunState(demo=demo, api_url=api_url, client_settings=run_settings, log_dir=state / "log")
        checking = None if blocks is None else BlocksRun(run, blocks)
        with Dashboard(run, interactive=sys.stdout.isatty() and blocks is None) as dashboard:
            summary = _drive(run, dashboard, checking, supervisor, stopping)
    finally:
        names = [name for name, child in supervisor.children.items() if child.alive()]
        supervisor.stop_all()
        if summary is None and names:
            click.echo(f"stopped {', '.join(names)}; run `manage.py up` again to resume where it stopped "
                       f"(state in {state})", err=True)
    return summary


def _announce(api_url: str, rpc: str, state: Path, demo: bool) -> None:
    """Where everything is, before the live view takes the screen."""
    click.echo(f"API:        {api_url}/api/v1 (web app at {api_url}/)", err=True)
    click.echo(f"RPC:        {rpc}", err=True)
    if demo:
        click.echo(f"demo tokens: {state / 'demo.json'} (sign in to the web app with a farmer's token)", err=True)
    click.echo(f"logs:       {state / 'log'}", err=True)
    click.echo("stop:       Ctrl-C (running `manage.py up` again resumes)", err=True)


def _database(url: str | None, state: Path, supervisor: Supervisor) -> str:
    """DATABASE_URL, or a private cluster under the state dir run as a supervised child (restarted
    like every other process, stopped after them); migrated and bound."""
    if not url:
        try:
            cluster = private_cluster(str(state)).prepare()
            supervisor.add(Child("postgres", [], command=cluster.server_command(), stop_signal=signal.SIGINT,
                                 stop_last=True))
            url = cluster.wait_ready().url
        except ClusterError as exc:
            raise click.ClickException(str(exc)) from None
    migrate(url)
    init_database(url)
    return url


def _start_pool(supervisor: Supervisor, devnet: LocalDevnet | None, api_port: int, log_dir: Path) -> str:
    """Start the devnet (if any), the API, the scheduler and the indexer; returns the API's URL."""
    if devnet is not None:
        supervisor.add(Child("devnet", devnet.launch_args()))
        devnet.wait_healthy()
    supervisor.add(Child("api", ["serve", "--host", "127.0.0.1", "--port", str(api_port)]))
    api_url = f"http://127.0.0.1:{api_port}"
    _wait_for(f"{api_url}/api/v1/health", log_dir / "api.log")
    supervisor.add(Child("scheduler", ["scheduler"]))
    supervisor.add(Child("indexer", ["indexer"]))
    return api_url


def _agent(name: str, api_url: str, api_key: str, settings, device: str, state: Path,
           env: dict[str, str]) -> Child:
    """A pooler agent child; its API key and Stellar secret reach it through its environment only
    (a command line is visible to every local user)."""
    return Child(name, ["pooler", "--pool", api_url, "--rpc", settings.rpc_url,
                        "--network", settings.network_name, "--device", device, "--json",
                        "--state-file", str(state / f"{name}.json")], env={**env, API_KEY_ENV: api_key})


def _ports(path: Path, api_port: int | None) -> dict[str, int]:
    """The devnet and API ports: those of the last run when still free, so URLs stay the same;
    a ClickException when `api_port` is given and another server holds it."""
    if api_port is not None and not port_is_free(api_port):
        raise click.ClickException(f"--api-port {api_port}: another server is listening on it")
    ports = json.loads(path.read_text()) if path.exists() else {}
    for name in ("devnet_port", "api_port"):
        if name not in ports or not port_is_free(ports[name]):
            ports[name] = free_port()
    if api_port is not None:
        ports["api_port"] = api_port
    path.write_text(json.dumps(ports))
    return ports


def _demo(state: Path, settings, keystore, devnet, api_url: str, poolers: int, farmers: int) -> Demo:
    path = state / "demo.json"
    demo = Demo.load(path)
    if demo is None:
        click.echo(f"first run: creating {poolers} pooler(s) and {farmers} farmer(s)...", err=True)
        demo = populate(settings, keystore, devnet, api_url, poolers, farmers, _create_pooler)
        demo.save(path)
    return demo


def _create_pooler(name: str, payout_address: str) -> tuple[int, str]:
    """The operator's way: `manage.py poolers create --json`."""
    output = subprocess.run([sys.executable, str(MANAGE), "poolers", "create", "--name", name,
                             "--payout-address", payout_address, "--json"],
                            capture_output=True, text=True, check=True).stdout
    created = json.loads(output.strip().splitlines()[-1])
    return created["id"], created["api_key"]


def _drive(run: RunState, dashboard: Dashboard, checking: BlocksRun | None, supervisor: Supervisor,
           stopping) -> dict | None:
    """Watch children and redraw until Ctrl-C, or until the --blocks run is complete."""
    while not stopping():
        supervisor.watch()
        try:
            run.refresh()
            dashboard.draw()
            if checking is not None:
                checking.exit_first_farmer_after_first_block()
                if checking.finished():
                    return checking.summary()
        except DATABASE_UNAVAILABLE:  # PostgreSQL is restarting: the supervisor brings it back
            log.warning("database unavailable; waiting for it")
            drop_connection()
        time.sleep(1.0)
    return None


def _wait_for(url: str, log_file: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {timeout:.0f}s; see {log_file}")


def _stop_on_signals():
    stop = {"now": False}

    def handle(*_):
        stop["now"] = True

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return lambda: stop["now"]
