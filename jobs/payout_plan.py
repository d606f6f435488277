"""The payout transaction of a settlement, planned from the wallet's state on chain right now.

Pure logic: given who is owed how much KALE (fixed by the settlement) and what the chain shows
(the wallet's KALE and XLM, which recipients can receive KALE, whether the farmer's payout
account exists), choose the operations. A recipient that cannot receive KALE (no trustline,
no account) gets a claimable balance it can claim once it can; the farmer gets every stroop
the others are not owed, so dust that arrived since the settlement goes to the farmer. The
wallet is merged into the farmer's payout account when nothing keeps it open; a claimable
balance it created does (the wallet sponsors its reserve), so then the farmer gets the XLM
above the reserve now and the rest when a later close merges the wallet.
"""
from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import (AccountMerge, Asset, ChangeTrust, Claimant, CreateAccount, CreateClaimableBalance,
                         Operation, Payment)

from chain.amounts import format_stroops
from chain.rpc import BASE_RESERVE, AccountInfo


@dataclass(frozen=True)
class Leg:
    """KALE owed to one recipient: a pooler (its share), a creditor (a pooler's debt), or the farmer."""

    recipient: str
    destination: str
    amount: int
    pooler_id: int | None = None
    debt_id: int | None = None


@dataclass(frozen=True)
class Plan:
    """The operations of one payout attempt and what each KALE leg became."""

    operations: list[Operation]
    legs: list[tuple[Leg, str]]  # (leg, "payment" | "claimable_balance")
    xlm_to_farmer: int  # XLM paid to the farmer outright (the merge's share comes from the result)
    merges: bool  # the wallet is merged (settlement done) or stays open until a close

    @property
    def claimable(self) -> int:
        return sum(1 for _, form in self.legs if form == "claimable_balance")


def kale_legs(owed: list[Leg], farmer_destination: str, kale: int | None) -> list[Leg]:
    """The owed legs plus the farmer's: the wallet's KALE less what the others are owed.

    Raises ValueError when the wallet holds less than the others are owed (an alarm: money
    left the wallet that the pool did not send).
    """
    balance = kale or 0
    others = sum(leg.amount for leg in owed)
    if balance < others:
        raise ValueError(f"the wallet holds {balance} stroops of KALE but its payout owes {others} to others")
    legs = [leg for leg in owed if leg.amount > 0]
    if balance - others > 0:
        legs.append(Leg("farmer", farmer_destination, balance - others))
    return legs


def plan(legs: list[Leg], kale_asset: Asset, wallet: AccountInfo, has_trustline: bool,
         can_receive: dict[str, bool], farmer_destination: str, farmer_exists: bool, fee: int,
         sponsor: Leg | None = None) -> Plan:
    """The payout operations for `legs` from a wallet in state `wallet` (see the module docstring).

    `sponsor`: XLM the fee sponsor paid for this wallet, charged to the farmer: paid back before the
    farmer gets its XLM, as far as the wallet's XLM above its remaining reserve allows.
    """
    operations: list[Operation] = []
    formed: list[tuple[Leg, str]] = []
    for leg in legs:
        if can_receive.get(leg.destination, False):
            operations.append(Payment(leg.destination, kale_asset, format_stroops(leg.amount)))
            formed.append((leg, "payment"))
        else:
            operations.append(CreateClaimableBalance(kale_asset, format_stroops(leg.amount),
                                                     [Claimant(leg.destination)]))
            formed.append((leg, "claimable_balance"))
    if has_trustline:
        operations.append(ChangeTrust(kale_asset, limit="0"))
    claimable = sum(1 for _, form in formed if form == "claimable_balance")
    keep = wallet.min_balance(subentries=wallet.subentries - (1 if has_trustline else 0),
                              sponsoring=wallet.sponsoring + claimable)
    spare = wallet.balance - fee - keep - (2 * BASE_RESERVE if not farmer_exists and claimable == 0 else 0)
    charged = min(sponsor.amount, max(spare, 0)) if sponsor else 0
    if charged > 0:
        operations.append(Payment(sponsor.destination, Asset.native(), format_stroops(charged)))
    if claimable == 0:
        if not farmer_exists:
            operations.append(CreateAccount(farmer_destination, format_stroops(2 * BASE_RESERVE)))
        operations.append(AccountMerge(farmer_destination))
        return Plan(operations, formed, 2 * BASE_RESERVE if not farmer_exists else 0, merges=True)
    xlm = spare - charged
    if farmer_exists and xlm > 0:
        operations.append(Payment(farmer_destination, Asset.native(), format_stroops(xlm)))
    elif not farmer_exists and xlm >= 2 * BASE_RESERVE:
        operations.append(CreateAccount(farmer_destination, format_stroops(xlm)))
    else:
        xlm = 0
    return Plan(operations, formed, xlm, merges=False)
