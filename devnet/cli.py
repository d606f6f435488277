"""`manage.py devnet`: run the local Stellar network with the KALE contracts."""
from __future__ import annotations

import gc
import signal
import threading
from pathlib import Path

import click

from config.logs import configure_logging
from devnet.close_meta import PROTOCOLS
from devnet.ledger import Chain
from devnet.rpc import Rpc, devnet_info
from devnet.server import CloseLoop, DevnetServer


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--state-dir", default="devnet-state", show_default=True, type=click.Path(file_okay=False),
              help="Where the chain persists (a new directory starts from genesis).")
@click.option("--close-interval", default=5.0, show_default=True, type=click.FloatRange(0),
              help="Wall seconds between ledger closes; 0 closes only on devnet_closeLedgers.")
@click.option("--ledger-seconds", default=5, show_default=True, type=click.IntRange(1),
              help="Ledger close-time advance per ledger.")
@click.option("--temp-ttl", default=17280, show_default=True, type=click.IntRange(1),
              help="Minimum TTL (ledgers) of new temporary entries.")
@click.option("--retention", default=120960, show_default=True, type=click.IntRange(1),
              help="Ledgers of history kept for getTransactions/getEvents/getLedgers.")
@click.option("--protocol", default="23", show_default=True, type=click.Choice([str(p) for p in PROTOCOLS]),
              envvar="KALEPOOL_DEVNET_PROTOCOL",
              help="Protocol the ledgers close under: 30 writes CAP-88 headers (millisecond close times, "
                   "a StellarValue arm stellar-sdk 16.1.1 cannot decode). Env: KALEPOOL_DEVNET_PROTOCOL.")
@click.option("--clock", default="auto", show_default=True, type=click.Choice(["auto", "wall", "step"]),
              help="wall: genesis at start-up and each ledger closes at the wall time, so block ages "
                   "measured from the wall clock are right; step: genesis 2025-01-01 and --ledger-seconds "
                   "per ledger whatever the wall clock (fast test runs); auto: wall when --close-interval "
                   "equals --ledger-seconds (the defaults), else step.")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
def devnet(host: str, port: int, state_dir: str, close_interval: float, ledger_seconds: int,
           temp_ttl: int, retention: int, protocol: str, clock: str, log_level: str) -> None:
    """Run a local Stellar network (Stellar RPC at /rpc, friendbot at /friendbot) with KALE deployed."""
    configure_logging(log_level)
    try:
        wall = clock == "wall" or (clock == "auto" and close_interval == ledger_seconds)
        chain = Chain(Path(state_dir), ledger_seconds=ledger_seconds, temp_ttl=temp_ttl,
                      retention=retention, auto_close=close_interval > 0, protocol=int(protocol),
                      wall_clock=wall)
    except Exception as exc:
        raise click.ClickException(f"cannot open the devnet state in {state_dir}: {exc}") from None
    try:
        server = DevnetServer((host, port), chain, Rpc(chain, {}))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    # The state is millions of long-lived XDR objects: keep the cyclic GC off them and run it rarely.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    bound_port = server.server_address[1]
    server.rpc.info = devnet_info(chain, host, bound_port, close_interval)
    loop = CloseLoop(chain, close_interval) if close_interval > 0 else None
    if loop:
        loop.start()
    stop = threading.Event()

    def shutdown(signum, frame) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    click.echo(f"devnet: ledger {chain.latest.seq}, RPC http://{host}:{bound_port}/rpc, "
               f"friendbot http://{host}:{bound_port}/friendbot, state {state_dir}", err=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        if loop:
            loop.stop()
        server.server_close()
        chain.close()
