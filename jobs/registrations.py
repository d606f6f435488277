"""Unfunded registrations expire: a farmer that never activated and whose wallet does not exist
on chain is deleted (row, sealed key, token) once older than KALEPOOL_REGISTRATION_TTL_SECONDS,
or at once if it asked to leave. A wallet that exists on chain holds the farmer's XLM: it is
kept (activation or settlement deals with it), so expiry never strands money.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from peewee import IntegrityError
from stellar_sdk import Keypair, xdr

from chain.rpc import ChainClient
from db.connection import database
from db.models import Farmer

log = logging.getLogger(__name__)

BATCH = 200  # addresses per getLedgerEntries call


def existing_accounts(client: ChainClient, addresses: list[str]) -> set[str]:
    """Which of `addresses` exist on chain (one getLedgerEntries call per 200)."""
    keys = {xdr.LedgerKey(type=xdr.LedgerEntryType.ACCOUNT, account=xdr.LedgerKeyAccount(
        account_id=Keypair.from_public_key(address).xdr_account_id())).to_xdr(): address for address in addresses}
    found = client.ledger_entries([xdr.LedgerKey.from_xdr(key) for key in keys])
    return {keys[key] for key in found}


@dataclass
class RegistrationExpiry:
    """The recurring job that deletes expired unfunded registrations."""

    client: ChainClient
    ttl_seconds: int

    def run_pass(self) -> int:
        """Delete every expired unfunded registration; returns how many."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.ttl_seconds)
        expired, after = 0, 0
        while True:
            batch = list(Farmer.select().where(
                Farmer.id > after, Farmer.activated_at.is_null(),
                ((Farmer.status == "awaiting_funding") & (Farmer.created_at < cutoff)) | (Farmer.status == "leaving"))
                .order_by(Farmer.id).limit(BATCH))
            if not batch:
                return expired
            after = batch[-1].id
            funded = existing_accounts(self.client, [farmer.custodial_address for farmer in batch])
            expired += sum(self._delete(farmer) for farmer in batch if farmer.custodial_address not in funded)

    @staticmethod
    def _delete(farmer: Farmer) -> int:
        try:
            with database.atomic():
                return (Farmer.delete().where(Farmer.id == farmer.id, Farmer.activated_at.is_null(),
                                              Farmer.status == farmer.status).execute())
        except IntegrityError:  # something refers to it after all: keep it, say so
            log.warning("farmer %s never activated but has records; not expired", farmer.id)
            return 0
