"""Contract events kept as XDR pieces: topics and data are encoded once, the event assembled from them.

getEvents needs each topic and the data as separate base64 ScVals, the meta and
getTransaction need whole ContractEvent XDR; both come from the same bytes.
"""
from __future__ import annotations

import struct

from stellar_sdk import Asset, Network, StrKey, scval, xdr

from devnet.entries import address_scval, c_address

_I32 = struct.Struct(">i").pack
_U32 = struct.Struct(">I").pack
SYSTEM, CONTRACT, DIAGNOSTIC = 0, 1, 2
KIND_NAMES = {SYSTEM: "system", CONTRACT: "contract", DIAGNOSTIC: "diagnostic"}
STAGE_BEFORE_ALL_TXS = 0
_FEE = scval.to_symbol("fee")
NATIVE_SAC = StrKey.decode_contract(Asset.native().contract_id(Network.STANDALONE_NETWORK_PASSPHRASE))


class Event:
    """One ContractEvent: contract id (raw 32 bytes or None), type, topic and data XDR."""

    __slots__ = ("contract_id", "kind", "topics", "data")

    def __init__(self, contract_id: bytes | None, topics: list[bytes], data: bytes, kind: int = CONTRACT):
        self.contract_id = contract_id
        self.kind = kind
        self.topics = topics
        self.data = data

    @classmethod
    def of(cls, contract_id: bytes | None, topics: list[xdr.SCVal], data: xdr.SCVal,
           kind: int = CONTRACT) -> "Event":
        return cls(contract_id, [t.to_xdr_bytes() for t in topics], data.to_xdr_bytes(), kind)

    def to_xdr_bytes(self) -> bytes:
        """ContractEvent XDR: ext v0, optional contract id, type, body v0 {topics, data}."""
        contract = _I32(1) + self.contract_id if self.contract_id else _I32(0)
        return (_I32(0) + contract + _I32(self.kind) + _I32(0) + _U32(len(self.topics))
                + b"".join(self.topics) + self.data)

    def diagnostic_xdr(self, in_successful_call: bool) -> bytes:
        """DiagnosticEvent XDR wrapping this event."""
        return _I32(int(in_successful_call)) + self.to_xdr_bytes()

    def transaction_event_xdr(self, stage: int = STAGE_BEFORE_ALL_TXS) -> bytes:
        """TransactionEvent XDR (a fee event's stage and the event)."""
        return _I32(stage) + self.to_xdr_bytes()

    @property
    def contract(self) -> str:
        return c_address(self.contract_id) if self.contract_id else ""


def fee_event(payer: str, amount: int) -> Event:
    """The native SAC `fee` event charged before all transactions."""
    return Event.of(NATIVE_SAC, [_FEE, address_scval(payer)], scval.to_int128(amount))
