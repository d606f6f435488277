"""Response schemas of the farmer and sign-in endpoints (see web.schemas)."""
from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, RootModel

from web.schemas_base import Address, Out, Pagination, Stroops, Timestamp


class Farmer(Out):
    """A farmer as the farmer itself and auditors see it."""

    farmer_id: int
    custodial_address: Address
    payout_address: Address
    pending_payout_address: Address | None
    payout_address_effective_at: Timestamp | None
    pooler_id: int
    stake_bps: int
    harvest_interval_blocks: int
    status: str
    plant_problem: str | None
    created_at: Timestamp
    activated_at: Timestamp | None
    exit_requested_at: Timestamp | None
    departed_at: Timestamp | None


class Funding(Out):
    """What a new farmer must do before it can be activated."""

    address: Address
    network: str
    min_xlm_stroops: Stroops
    kale_asset: str
    steps: list[str]


class FarmerCreated(Farmer):
    """A new farmer, its API token (shown once) and its funding instructions."""

    api_token: str
    funding: Funding


class Balances(Out):
    kale: Stroops
    xlm: Stroops
    staked: Stroops
    as_of_ledger: int | None


class RewardPeriod(Out):
    """The farmer's pails, rewards and the pooler's share in one pooler period."""

    pooler_id: int
    pooler_name: str
    pails: int
    rewards: Stroops
    share_bps: int | None
    share: Stroops
    compensation_owed: Stroops
    offset: Stroops
    debt: Stroops
    debt_collected: Stroops
    amount: Stroops


class PoolerPayment(Out):
    pooler_id: int
    amount: Stroops


class CreditorPayment(Out):
    debt_id: int
    farmer_id: int
    amount: Stroops


class ExitPreview(Out):
    """What an exit would pay each party today."""

    poolers: list[PoolerPayment]
    creditors: list[CreditorPayment]
    farmer_kale: Stroops
    farmer_xlm: Stroops


class FarmerWithMoney(Farmer):
    """A farmer with its balances, rewards per pooler and exit preview (from the chain record)."""

    balances: Balances
    rewards_by_pooler: list[RewardPeriod]
    compensations: Stroops
    exit_preview: ExitPreview


class PooledFarmer(Out):
    """A farmer as its pooler sees it: what mining needs, addresses only."""

    farmer_id: int
    custodial_address: Address
    stake_bps: int
    harvest_interval_blocks: int
    status: str


class FarmerAsSeen(RootModel[FarmerWithMoney | PooledFarmer]):
    """The farmer with its money (itself, auditors) or as its pooler sees it (poolers)."""


class FarmerList(Pagination):
    farmers: list[Farmer]


class PooledFarmerList(Pagination):
    farmers: list[PooledFarmer]


class HistoryEvent(Out):
    """A planting, work, harvest or payout; works and payouts carry their own details."""

    kind: Literal["planting", "work", "harvest", "payout"]
    id: int
    block_index: int | None
    amount: Stroops | None
    tx_hash: str | None
    created_at: Timestamp | None
    hash: str | None = None
    nonce: int | None = None
    zeros: int | None = None
    gap: int | None = None
    recipient: str | None = None
    destination: Address | None = None
    asset: str | None = None
    status: str | None = None


class History(Pagination):
    events: list[HistoryEvent]


class LedgerEntry(Out):
    """One chain movement of the custodial wallet, its class and the running balance after it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    ledger: int
    tx_hash: str
    class_: str = Field(alias="class")
    asset: str
    amount: Stroops
    balance: Stroops
    counterparty: str | None
    block_index: int | None
    pooler_id: int | None


class Ledger(Pagination):
    entries: list[LedgerEntry]


class Compensation(Out):
    """A stake a farmer lost to a pail its pooler did not work, owed by the pooler."""

    farmer_id: int
    pooler_id: int
    block_index: int
    amount: Stroops
    reason: str
    settlement_id: int | None


class Compensations(Out):
    compensations: list[Compensation]
    total: Stroops


class SettledPail(Out):
    block_index: int
    pooler_id: int
    stake: Stroops
    share_bps: int | None
    plant_tx: str | None
    worked: bool
    zeros: int | None
    gap: int | None
    work_tx: str | None
    reward: Stroops | None
    harvest_tx: str | None
    compensation: Stroops | None
    announced_ledger: int | None


class SettlementPeriod(Out):
    pooler_id: int
    pooler_name: str
    pails: list[SettledPail]
    rewards: Stroops
    share: Stroops
    compensation: Stroops
    offset: Stroops
    debt: Stroops
    debt_collected: Stroops
    amount: Stroops


class DebtCreated(Out):
    debt_id: int
    pooler_id: int
    amount: Stroops


class DebtCollected(Out):
    debt_id: int
    creditor_id: int
    amount: Stroops


class SettlementPayout(Out):
    recipient: str
    pooler_id: int | None
    debt_id: int | None
    destination: Address
    asset: str
    amount: Stroops
    form: str
    attempt: int
    status: str
    tx_hash: str | None
    ledger: int | None


class SettlementAttempt(Out):
    action: str
    attempt: int
    tx_hash: str
    ledger: int | None
    outcome: str


class Settlement(Out):
    """A farmer's exit settlement: per pooler period every pail, and every payout attempt."""

    settlement_id: int
    farmer_id: int
    status: str
    rewards_earned: Stroops
    compensation_owed: Stroops
    pooler_share: Stroops
    pooler_debt: Stroops
    debt_collected: Stroops
    wallet_balance: Stroops
    pooler_amount: Stroops
    farmer_amount: Stroops
    periods: list[SettlementPeriod]
    debts_created: list[DebtCreated]
    debts_collected: list[DebtCollected]
    payouts: list[SettlementPayout]
    sponsored_fees: Stroops
    sponsored_fees_charged: Stroops
    attempts: list[SettlementAttempt]
    last_error: str | None


class Challenge(Out):
    """A SEP-10 challenge to sign with the account's master key."""

    transaction: str
    network_passphrase: str
    expires_at: int = Field(description="unix time")


class NewToken(Out):
    farmer_id: int
    api_token: str

