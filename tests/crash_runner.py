"""A pool process for the crash test: plants a pooler's farmers in every block and resolves the
outbox, exactly as the API and the scheduler do, until `target` plant intents exist and none
is live.

Run with KALEPOOL_FAULTS set, it is SIGKILLed at random submission steps; the test
restarts it until it exits 0. Arguments: database URL, RPC URL, state dir, pooler id, target.
"""
import sys
import time

from config import load_settings
from db.connection import init_database
from db.models import Pooler, TxIntent
from jobs.outbox import LIVE
from jobs.pool import build_pool


def main(database_url: str, rpc_url: str, state_dir: str, pooler_id: int, target: int) -> None:
    settings = load_settings({}, database_url=database_url, rpc_url=rpc_url, state_dir=state_dir,
                             tx_timeout_seconds=30)
    init_database(database_url, pool_size=12)
    pool = build_pool(settings)
    pooler = Pooler.get_by_id(pooler_id)
    while True:
        pool.outbox.resolve_open()
        plants = TxIntent.select().where(TxIntent.action == "plant")
        if plants.count() >= target and not plants.where(TxIntent.status.in_(LIVE)).exists():
            return
        pool.planter.plant_for(pooler)
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
