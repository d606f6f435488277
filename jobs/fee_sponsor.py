"""Fee sponsorship for custodial wallets: the operator's sponsor account pays their fees through
fee-bump envelopes (off by default), up to a per-farmer cap; every sponsored envelope is recorded
(db.sponsored_fees) so the settlement charges the farmer what the chain took.
"""
from __future__ import annotations

import logging

from stellar_sdk import FeeBumpTransactionEnvelope, Keypair, TransactionEnvelope

from chain import fee_bump
from chain.keystore import keystore_for
from config import Settings
from db.connection import database
from db.models import Farmer
from db.sponsored_fees import record_sponsored, sponsored_fees_committed

log = logging.getLogger(__name__)


class FeeSponsor:
    """Wraps farmers' signed envelopes in fee bumps paid by one sponsor account."""

    def __init__(self, settings: Settings, sponsor: Keypair):
        self.settings = settings
        self.sponsor = sponsor

    def wrap(self, source: str, envelope: TransactionEnvelope) -> TransactionEnvelope | FeeBumpTransactionEnvelope:
        """`envelope` fee-bumped by the sponsor when `source` is a farmer's custodial wallet with room
        under its cap (recorded before it can be sent); otherwise unchanged, paid by its source."""
        farmer = Farmer.get_or_none(Farmer.custodial_address == source)
        if farmer is None:
            return envelope
        bumped = fee_bump.wrap(envelope, self.sponsor, self.settings.base_fee_stroops,
                               self.settings.network.passphrase)
        fee = fee_bump.max_fee(bumped)
        with database.atomic():
            committed = sponsored_fees_committed(farmer.id)
            if committed + fee > self.settings.fee_sponsor_cap_stroops:
                log.warning("farmer %s: sponsored fees would pass the cap (%s + %s > %s stroops); its wallet "
                            "pays this fee itself", farmer.id, committed, fee, self.settings.fee_sponsor_cap_stroops)
                return envelope
            record_sponsored(farmer.id, self.sponsor.public_key, bumped.hash_hex(), fee)
        return bumped


    def room(self, farmer_id: int) -> int:
        """Stroops of fees the sponsor will still pay for this farmer (its cap less what is committed)."""
        return max(self.settings.fee_sponsor_cap_stroops - sponsored_fees_committed(farmer_id), 0)


def fee_sponsor_for(settings: Settings) -> FeeSponsor | None:
    """The sponsor the settings call for (None when sponsorship is off); its secret from
    $KALEPOOL_FEE_SPONSOR_SECRET or the keyring entry `fee-sponsor`."""
    if not settings.fee_sponsor:
        return None
    keystore = keystore_for(settings)
    sponsor = fee_bump.load_sponsor(lambda name: keystore.backend.get_password(keystore.service, name))
    log.info("fee sponsorship on: %s pays custodial wallets' fees, up to %s stroops each",
             sponsor.public_key, settings.fee_sponsor_cap_stroops)
    return FeeSponsor(settings, sponsor)
