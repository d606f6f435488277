"""The pool's recent blocks, public: per block how many pool farmers were planted, worked and
harvested (works and harvests as the chain recorded them), their stake and their rewards."""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from db.connection import database
from web.api import operation
from web.services import services

blueprint = Blueprint("blocks", __name__)
TAG = "blocks"
_CACHE = "kalepool.blocks"
_CACHE_PAGES = 32  # pages kept per process; the public can ask for any page

# The newest distinct block indexes the pool planted in, one index probe each (plantings_block).
_RECENT = """
WITH RECURSIVE planted(block_index) AS (
    (SELECT block_index FROM plantings ORDER BY block_index DESC LIMIT 1)
    UNION ALL
    SELECT (SELECT p.block_index FROM plantings p WHERE p.block_index < planted.block_index
             ORDER BY p.block_index DESC LIMIT 1)
      FROM planted WHERE planted.block_index IS NOT NULL
)
SELECT block_index FROM planted WHERE block_index IS NOT NULL LIMIT %(limit)s OFFSET %(offset)s"""
_PLANTED = """
SELECT block_index, count(*), coalesce(sum(amount), 0) FROM plantings
 WHERE block_index = ANY(%(blocks)s) GROUP BY block_index"""
# Works and harvests of pool farmers as the chain recorded them (only the pool can plant a custodial
# wallet, so a pool farmer's pail in a block is one the pool planted); a farmer may send several works.
_CHAIN = """
SELECT c.block_index, count(DISTINCT c.farmer) FILTER (WHERE c.kind = 'work'),
       count(*) FILTER (WHERE c.kind = 'harvest'), coalesce(sum(c.reward) FILTER (WHERE c.kind = 'harvest'), 0)
  FROM chain_transactions c JOIN farmers f ON f.custodial_address = c.farmer
 WHERE c.block_index = ANY(%(blocks)s) AND c.kind IN ('work', 'harvest') AND c.successful
 GROUP BY c.block_index"""


def recent_blocks(limit: int, offset: int) -> dict[str, Any]:
    """One page of the blocks the pool planted in, newest first, with their figures."""
    indexes = [row[0] for row in database.execute_sql(_RECENT, {"limit": limit, "offset": offset})]
    chain = {index: (worked, harvested, int(rewards)) for index, worked, harvested, rewards
             in database.execute_sql(_CHAIN, {"blocks": indexes})} if indexes else {}
    planted = {index: (count, int(stake)) for index, count, stake
               in database.execute_sql(_PLANTED, {"blocks": indexes})} if indexes else {}
    blocks = []
    for index in indexes:
        worked, harvested, rewards = chain.get(index, (0, 0, 0))
        count, stake = planted[index]
        blocks.append({"block_index": index, "planted": count, "worked": worked, "harvested": harvested,
                       "stake": stake, "rewards": rewards})
    return {"blocks": blocks, "limit": limit, "offset": offset}


@operation(blueprint, "GET", "/blocks", "The pool's recent blocks, newest first: pool farmers planted, worked "
           "and harvested (from the chain record), their stake and rewards", tag=TAG, query="Page", response="Blocks")
def list_blocks(query: Any) -> Response:
    cache: dict[tuple[int, int], tuple[float, dict[str, Any]]] = current_app.extensions.setdefault(_CACHE, {})
    made, page = cache.get((query.limit, query.offset), (float("-inf"), {}))
    if time.monotonic() - made >= services().public_poolers_ttl:
        page = recent_blocks(query.limit, query.offset)
        if len(cache) >= _CACHE_PAGES:
            cache.clear()
        cache[(query.limit, query.offset)] = (time.monotonic(), page)
    return jsonify(page)
