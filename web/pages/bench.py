"""`manage.py bench pages`: server time of every web page with 1,000 farmers in the pool.

A throw-away private PostgreSQL holds a pooler with `--farmers` farmers, each with `--blocks`
planted, worked and harvested pails (the measured farmer has 200) in the pool's records and in the
chain record, and one auditor. A page load
is what the browser asks for when it opens the page: the HTML and every API call its script
makes; each is served in this process (Flask's test client, no network), so the time is the
server's own. Prints p50/p99 of whole page loads and of the slowest single request of each page.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import click
from stellar_sdk import Keypair

from config import load_settings
from db.cluster import PrivateCluster
from db.connection import database
from db.migrate import migrate
from web.pages.session import SESSION_COOKIE

TARGET_MS = 100.0
MEASURED_FARMER_BLOCKS = 200
_HISTORY_SQL = """
INSERT INTO plantings (farmer_id, pooler_id, block_index, amount, tx_hash, ledger, created_at)
SELECT f.id, f.pooler_id, b, 500000000, md5(f.id || ':p:' || b), b * 60, now() - (b || ' minutes')::interval
  FROM farmers f, generate_series(1, %(blocks)s) AS b WHERE f.id <> %(measured)s OR b <= %(measured_blocks)s
UNION ALL
SELECT f.id, f.pooler_id, b, 500000000, md5(f.id || ':p:' || b), b * 60, now() - (b || ' minutes')::interval
  FROM farmers f, generate_series(%(blocks)s + 1, %(measured_blocks)s) AS b WHERE f.id = %(measured)s;
INSERT INTO works (farmer_id, pooler_id, block_index, hash, nonce, zeros, gap, tx_hash, ledger, created_at)
SELECT farmer_id, pooler_id, block_index, sha256(convert_to(tx_hash, 'UTF8')), block_index, 6, 30, md5(tx_hash),
       ledger + 30, created_at FROM plantings;
INSERT INTO harvests (farmer_id, block_index, reward, tx_hash, ledger, created_at)
SELECT farmer_id, block_index, 1234567890, md5(tx_hash || 'h'), ledger + 60, created_at FROM plantings;
INSERT INTO chain_transactions (hash, ledger, application_order, close_time, source, fee_charged, successful,
                                result_code, kind, farmer, block_index, stake, zeros, gap, reward)
SELECT md5(p.tx_hash || k.kind) || md5(k.kind || p.tx_hash), p.ledger + k.later, 3 * p.farmer_id + k.n,
       (p.ledger + k.later) * 5, f.custodial_address, 100, true, 'txSUCCESS', k.kind, f.custodial_address,
       p.block_index, CASE WHEN k.kind = 'plant' THEN p.amount END, CASE WHEN k.kind = 'work' THEN 6 END,
       CASE WHEN k.kind = 'work' THEN 30 END, CASE WHEN k.kind = 'harvest' THEN 1234567890 END
  FROM plantings p JOIN farmers f ON f.id = p.farmer_id,
       (VALUES ('plant', 0, 1), ('work', 30, 2), ('harvest', 60, 3)) AS k(kind, later, n);
"""


def _populate(url: str, state_dir: Path, farmers: int, blocks: int) -> dict[str, object]:
    """The pool's rows; returns the tokens and ids the page loads use."""
    from web.accounts import create_auditor, create_pooler
    from web.app import create_app
    from web.auth import new_token
    from db.models import Farmer, Pooler
    from web.services import services

    app = create_app(load_settings(environ={}, database_url=url, state_dir=str(state_dir),
                                   api_rate_limit_per_minute=10_000_000))
    with app.app_context():
        pooler, pooler_key = create_pooler("bench", Keypair.random().public_key, 5000, farmers)
        _, auditor_token = create_auditor("bench")
        custody = services().custody
        farmer_token, token_hash = new_token("farmer")
        with database.atomic():
            for number in range(farmers):
                farmer_id = Farmer.next_id()
                wallet = custody.create_wallet(farmer_id)
                Farmer.create(id=farmer_id, custodial_address=wallet.public_key, **wallet.sealed.fields(),
                              payout_address=Keypair.random().public_key, pooler=pooler, stake_bps=5000,
                              harvest_interval_blocks=1, status="active",
                              api_token_hash=token_hash if number == 0 else f"bench-{farmer_id}")
        measured = Farmer.get(Farmer.api_token_hash == token_hash).id
        database.execute_sql(_HISTORY_SQL, {"blocks": blocks, "measured": measured,
                                            "measured_blocks": max(blocks, MEASURED_FARMER_BLOCKS)})
        Pooler.update(capacity=farmers).where(Pooler.id == pooler.id).execute()
        database.execute_sql("ANALYZE")  # what autovacuum does after a bulk load: plans fit the data
    return {"app": app, "farmer": farmer_token, "pooler": pooler_key, "auditor": auditor_token,
            "farmer_id": measured, "block": blocks}


def _pages(farmer_id: int, block: int) -> list[tuple[str, str | None, list[str]]]:
    """(page, role signed in, the requests one load of it makes)."""
    return [
        ("/", None, ["/", "/api/v1/poolers", "/api/v1/blocks?limit=10"]),
        ("/join", None, ["/join", "/api/v1/poolers", "/api/v1/info"]),
        ("/signin", None, ["/signin"]),
        ("/me", "farmer", ["/me", "/api/v1/poolers", "/web/api/farmers/me", "/web/api/farmers/me/history?limit=200",
                           "/web/api/farmers/me/compensations"]),
        ("/pooler", "pooler", ["/pooler", "/web/api/pooler/me", "/web/api/pooler/farmers?limit=50&offset=0",
                               "/web/api/pooler/compensations"]),
        ("/audit", "auditor", ["/audit", "/web/api/farmers?limit=50&offset=0",
                               "/web/api/audit/discrepancies?limit=200"]),
        (f"/audit/farmers/{farmer_id}", "auditor", [f"/audit/farmers/{farmer_id}", f"/web/api/farmers/{farmer_id}",
                                                    f"/web/api/audit/farmers/{farmer_id}/statement"]),
        (f"/audit/blocks/{block}", "auditor", [f"/audit/blocks/{block}", f"/web/api/audit/blocks/{block}"]),
    ]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@click.command("pages")
@click.option("--farmers", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--blocks", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Planted, worked and harvested pails of every farmer.")
@click.option("--loads", type=click.IntRange(10, 100_000), default=200, show_default=True,
              help="Loads of each page.")
def bench_pages(farmers: int, blocks: int, loads: int) -> None:
    """Server time (p50/p99) of every web page and the API calls it makes, with N farmers in the pool."""
    root = Path(tempfile.mkdtemp(prefix="kalepool-bench-pages-"))
    root.chmod(0o755)  # the postgres user must reach the cluster when we are root
    cluster = PrivateCluster(root / "postgres").start()
    try:
        migrate(cluster.url)
        started = time.perf_counter()
        pool = _populate(cluster.url, root / "state", farmers, blocks)
        click.echo(f"{farmers} farmers, {blocks} harvested pails each ({MEASURED_FARMER_BLOCKS} for the signed-in "
                   f"farmer), populated in {time.perf_counter() - started:.0f} s; {loads} loads per page")
        worst = 0.0
        for page, role, paths in _pages(pool["farmer_id"], pool["block"]):
            client = pool["app"].test_client()
            if role is not None:
                client.set_cookie(SESSION_COOKIE, pool[role])
            totals, slowest = [], []
            for _ in range(loads + 5):
                times = []
                for path in paths:
                    begun = time.perf_counter()
                    status = client.get(path).status_code
                    times.append(time.perf_counter() - begun)
                    if status != 200:
                        raise click.ClickException(f"{path} answered {status}")
                totals.append(sum(times) * 1000)
                slowest.append(max(times) * 1000)
            totals, slowest = totals[5:], slowest[5:]  # the first loads warm connections and caches
            worst = max(worst, _percentile(totals, 0.99))
            click.echo(f"{page:<22} {len(paths)} requests   page load p50 {_percentile(totals, 0.5):6.1f} ms  "
                       f"p99 {_percentile(totals, 0.99):6.1f} ms   slowest request p99 "
                       f"{_percentile(slowest, 0.99):6.1f} ms")
        click.echo(f"worst page load p99 {worst:.1f} ms: {'within' if worst < TARGET_MS else 'OVER'} the "
                   f"{TARGET_MS:.0f} ms target")
    finally:
        database.close()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
