"""Response schemas of the pooler, block, auditor and service endpoints (see web.schemas)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from web.schemas_base import Address, Out, Pagination, Stroops, Timestamp

Json = Any  # a stored JSON document whose shape belongs to its producer (contract arguments, evidence)


class PoolerFigures(Out):
    """How full a pooler is and how well it works what is planted."""

    farmers: int
    active_farmers: int
    plantings: int
    works: int
    missed: int
    work_rate_bps: int | None
    rewards_harvested: Stroops
    compensation_owed: Stroops


class PublicPooler(Out):
    pooler_id: int
    name: str
    capacity: int
    share_bps: int
    open_slots: int
    compensation_paid: Stroops
    performance: PoolerFigures


class PublicPoolers(Out):
    poolers: list[PublicPooler]


class PoolerMoney(Out):
    share_accrued: Stroops
    compensation_owed: Stroops
    share_paid: Stroops
    compensation_paid: Stroops
    debt_paid: Stroops
    debt_owed: Stroops


class Agent(Out):
    agent: str
    hash_rate: int
    block_index: int | None
    reported_at: Timestamp
    current: bool = Field(description="reported within window_seconds")


class Agents(Out):
    """The pooler's agents as they last reported; hash_rate sums those heard from recently."""

    hash_rate: int
    agents: list[Agent]
    window_seconds: int


class PoolerMe(Agents):
    pooler_id: int
    name: str
    payout_address: Address
    capacity: int
    share_bps: int
    active: bool
    created_at: Timestamp
    performance: PoolerFigures
    money: PoolerMoney


class OpenBlock(Out):
    index: int
    entropy: str
    timestamp: int
    closes_at: int


class Planted(Out):
    farmer_id: int
    address: Address
    block_index: int
    stake: Stroops
    ledger: int | None
    tx_hash: str | None


class NotPlanted(Out):
    farmer_id: int
    address: Address
    block_index: int
    reason: str


class PlantAnswer(Out):
    """The open block and, per farmer, planted, pending or failed with a reason."""

    block: OpenBlock | None
    planted: list[Planted]
    pending: list[NotPlanted]
    failed: list[NotPlanted]
    note: str | None = None


class PlantRunning(Out):
    """Still planting: poll `poll` (also in Location) after Retry-After seconds."""

    request_id: int
    status: Literal["running"]
    poll: str


class AcceptedWork(Out):
    farmer: Address
    block_index: int
    zeros: int
    gap: int | None


class RejectedWork(Out):
    farmer: Json = Field(description="the item's farmer as sent")
    block_index: Json = Field(description="the item's block_index as sent")
    reason: str


class WorkVerdict(Out):
    accepted: list[AcceptedWork]
    rejected: list[RejectedWork]


class BlockFigures(Out):
    block_index: int
    planted: int
    worked: int
    harvested: int
    stake: Stroops
    rewards: Stroops


class Blocks(Out):
    blocks: list[BlockFigures]
    limit: int
    offset: int


class Discrepancy(Out):
    id: int
    kind: str
    farmer_id: int | None
    block_index: int | None
    pool_side: Json
    chain_side: Json
    detected_at: Timestamp
    resolved_at: Timestamp | None
    resolution: str | None


class Discrepancies(Pagination):
    discrepancies: list[Discrepancy]
    open: int


class ChainBlock(Out):
    block_index: int
    stake: Stroops
    plant_tx: str | None
    plant_ledger: int | None
    worked: bool
    zeros: int | None
    gap: int | None
    work_tx: str | None
    reward: Stroops | None
    minted: Stroops | None
    harvest_tx: str | None
    harvest_ledger: int | None
    compensation: Stroops


class ChainPayment(Out):
    tx_hash: str
    ledger: int
    type: str
    recipient: Literal["farmer", "pooler", "other"]
    destination: str | None
    asset: str | None
    amount: Stroops | None


class ChainStatement(Out):
    """A farmer's statement recomputed from chain rows alone, with its open discrepancies."""

    farmer_id: int
    custodial_address: Address
    payout_address: Address
    from_ledger: int | None
    to_ledger: int | None
    planted: Stroops
    blocks_planted: int
    blocks_worked: int
    harvested: Stroops
    minted: Stroops
    compensations: Stroops
    kale_received: Stroops
    kale_sent: Stroops
    kale_net: Stroops
    settlement: list[ChainPayment]
    blocks: list[ChainBlock]
    discrepancies: list[Discrepancy]


class ChainTransaction(Out):
    hash: str
    ledger: int
    application_order: int
    close_time: int
    source: str
    successful: bool
    result_code: str
    kind: str
    function: str | None
    args: Json
    return_value: Json
    contract_error: int | None
    farmer: str | None
    block_index: int | None
    stake: Stroops | None
    stake_burned: Stroops | None
    nonce: int | None
    work_hash: str | None
    zeros: int | None
    gap: int | None
    reward: Stroops | None
    amount_minted: Stroops | None


class PoolPlanting(Out):
    farmer_id: int
    stake: Stroops
    tx_hash: str | None
    ledger: int | None


class PoolWork(Out):
    farmer_id: int
    zeros: int
    gap: int | None
    hash: str
    tx_hash: str | None


class PoolHarvest(Out):
    farmer_id: int
    reward: Stroops
    tx_hash: str | None
    ledger: int | None


class PoolCompensation(Out):
    farmer_id: int
    amount: Stroops
    reason: str


class PoolRecords(Out):
    plantings: list[PoolPlanting]
    works: list[PoolWork]
    harvests: list[PoolHarvest]
    compensations: list[PoolCompensation]


class BlockRecord(Out):
    """A block as the chain recorded it next to the pool's records of it."""

    block_index: int
    chain: list[ChainTransaction]
    pool: PoolRecords
    discrepancies: list[Discrepancy]


class Health(Out):
    """ok, or degraded (503) naming what is unreachable; the RPC's facts only when it answered."""

    status: Literal["ok", "degraded"]
    database: str
    rpc: str
    latest_ledger: int | None = None
    protocol_version: int | None = None
    rpc_version: str | None = None
    xdr_skipped: int


class Info(Out):
    version: str
    network: str
    passphrase: str
    farm_contract: str
    kale_asset: str
    kale_sac: str
    pooler_share_bps: int
    min_account_xlm_stroops: Stroops
    max_harvest_interval_blocks: int
    default_harvest_interval_blocks: int


class OpenApiDocument(Out):
    """This document (OpenAPI 3.1)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]
