"""Transaction envelopes: decoding, hashing, signatures, fees, sequence numbers and time bounds.

`decode` turns a base64 envelope (v0, v1 or fee bump) into a `Tx`; `check_static`
and `check_account` reject it with the result code stellar-core would give
(txBAD_AUTH, txBAD_SEQ, txTOO_LATE, txINSUFFICIENT_FEE, ...). Accounts have their
master key as only signer (the devnet has no set_options), so the signers a
transaction needs are its source accounts.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from stellar_sdk import xdr

from devnet import entries as E
from devnet import fees

Code = xdr.TransactionResultCode
MAX_OPERATIONS = 100
SOROBAN_OPS = (xdr.OperationType.INVOKE_HOST_FUNCTION, xdr.OperationType.EXTEND_FOOTPRINT_TTL,
               xdr.OperationType.RESTORE_FOOTPRINT)
LEDGER_KEY_TYPES = (xdr.LedgerEntryType.ACCOUNT, xdr.LedgerEntryType.TRUSTLINE,
                    xdr.LedgerEntryType.CONTRACT_DATA, xdr.LedgerEntryType.CONTRACT_CODE)
_TX = b"\x00\x00\x00\x02"
_FEE_BUMP = b"\x00\x00\x00\x05"


class Malformed(ValueError):
    """The envelope is not base64 XDR of a TransactionEnvelope."""


class Rejected(Exception):
    """A transaction stellar-core would not accept: its result code (on the inner tx if `inner`)."""

    def __init__(self, code: xdr.TransactionResultCode, inner: bool = False):
        self.code = code
        self.inner = inner
        super().__init__(code.name)


@dataclass(eq=False)
class Tx:
    """A decoded transaction, with everything validation and apply need."""

    raw: bytes
    envelope: xdr.TransactionEnvelope
    hash: bytes
    tx: xdr.Transaction
    inner_hash: bytes
    inner_signatures: list
    fee_bump: xdr.FeeBumpTransaction | None
    source: str
    fee_source: str
    seq: int
    fee: int
    soroban: xdr.SorobanTransactionData | None
    charge: int = 0
    footprint: tuple[set[bytes], set[bytes]] = (set(), set())  # read-only, read-write key XDR

    @property
    def operations(self) -> list[xdr.Operation]:
        return self.tx.operations

    @property
    def hash_hex(self) -> str:
        return self.hash.hex()


def _signatures_length(signatures: list[xdr.DecoratedSignature]) -> int:
    return 4 + sum(8 + (len(s.signature.signature) + 3) // 4 * 4 for s in signatures)


def _tx_hash(network_id: bytes, kind: bytes, body: bytes) -> bytes:
    return hashlib.sha256(network_id + kind + body).digest()


def _v0_to_v1(v0: xdr.TransactionV0Envelope) -> xdr.TransactionV1Envelope:
    tx = v0.tx
    cond = (xdr.Preconditions(xdr.PreconditionType.PRECOND_TIME, time_bounds=tx.time_bounds)
            if tx.time_bounds else xdr.Preconditions(xdr.PreconditionType.PRECOND_NONE))
    return xdr.TransactionV1Envelope(xdr.Transaction(
        xdr.MuxedAccount(xdr.CryptoKeyType.KEY_TYPE_ED25519, ed25519=tx.source_account_ed25519),
        tx.fee, tx.seq_num, cond, tx.memo, tx.operations, xdr.TransactionExt(0)), v0.signatures)


def decode(envelope_b64: str, network_id: bytes) -> Tx:
    """Decode and hash an envelope; raises Malformed if it is not one."""
    try:
        raw = base64.b64decode(envelope_b64, validate=True)
        envelope = xdr.TransactionEnvelope.from_xdr_bytes(raw)
    except (binascii.Error, ValueError, TypeError, EOFError, IndexError, AttributeError) as exc:
        raise Malformed(f"invalid_xdr: {exc}") from None
    except Exception as exc:  # the XDR unpacker raises assorted errors on garbage
        raise Malformed(f"invalid_xdr: {type(exc).__name__}") from None
    kind = envelope.type
    fee_bump = None
    if kind == xdr.EnvelopeType.ENVELOPE_TYPE_TX:
        v1 = envelope.v1
        tx_hash = _tx_hash(network_id, _TX, raw[4:len(raw) - _signatures_length(v1.signatures)])
        outer_hash = tx_hash
    elif kind == xdr.EnvelopeType.ENVELOPE_TYPE_TX_V0:
        v1 = _v0_to_v1(envelope.v0)
        tx_hash = outer_hash = _tx_hash(network_id, _TX, v1.tx.to_xdr_bytes())
    elif kind == xdr.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
        fee_bump = envelope.fee_bump.tx
        v1 = fee_bump.inner_tx.v1
        outer_hash = _tx_hash(network_id, _FEE_BUMP,
                              raw[4:len(raw) - _signatures_length(envelope.fee_bump.signatures)])
        tx_hash = _tx_hash(network_id, _TX, v1.tx.to_xdr_bytes())
    else:
        raise Malformed("invalid_xdr: unknown envelope type")
    tx = v1.tx
    source = E.muxed_address(tx.source_account)
    return Tx(raw=raw, envelope=envelope, hash=outer_hash, tx=tx, inner_hash=tx_hash,
              inner_signatures=v1.signatures, fee_bump=fee_bump, source=source,
              fee_source=E.muxed_address(fee_bump.fee_source) if fee_bump else source,
              seq=tx.seq_num.sequence_number.int64,
              fee=fee_bump.fee.int64 if fee_bump else tx.fee.uint32,
              soroban=tx.ext.soroban_data if tx.ext.v == 1 else None)


def _check_signatures(payload: bytes, signatures: list[xdr.DecoratedSignature], signers: set[str],
                      inner: bool) -> None:
    needed = {E.raw_key(s): False for s in signers}
    used = [False] * len(signatures)
    for i, sig in enumerate(signatures):
        hint = sig.hint.signature_hint
        for key, done in needed.items():
            if done or key[-4:] != hint:
                continue
            try:
                VerifyKey(key).verify(payload, sig.signature.signature)
            except (BadSignatureError, ValueError):
                continue
            needed[key] = used[i] = True
            break
    if not all(needed.values()):
        raise Rejected(Code.txBAD_AUTH, inner)
    if not all(used):
        raise Rejected(Code.txBAD_AUTH_EXTRA, inner)


def signers(tx: xdr.Transaction, source: str) -> set[str]:
    """The accounts whose master keys must sign: the source and every operation source."""
    return {source} | {E.muxed_address(op.source_account) for op in tx.operations if op.source_account}


def check_static(tx: Tx) -> None:
    """Checks that need no ledger state: operations, Soroban data, fees, signatures. Sets `tx.charge`."""
    inner = tx.fee_bump is not None
    ops = tx.operations
    if not ops:
        raise Rejected(Code.txMISSING_OPERATION, inner)
    if len(ops) > MAX_OPERATIONS:
        raise Rejected(Code.txMALFORMED, inner)
    soroban_ops = sum(1 for op in ops if op.body.type in SOROBAN_OPS)
    if soroban_ops and (len(ops) != 1 or tx.soroban is None):
        raise Rejected(Code.txMALFORMED, inner)
    if tx.soroban is not None and not soroban_ops:
        raise Rejected(Code.txMALFORMED, inner)
    cond = tx.tx.cond
    if cond.type == xdr.PreconditionType.PRECOND_V2:
        v2 = cond.v2
        if v2.min_seq_num is not None or v2.min_seq_age.duration.uint64 or v2.min_seq_ledger_gap.uint32 \
                or v2.extra_signers:
            raise Rejected(Code.txNOT_SUPPORTED, inner)
    declared = 0
    required = 0
    if tx.soroban is not None:
        declared = tx.soroban.resource_fee.int64
        footprint = tx.soroban.resources.footprint
        read_only = [k.to_xdr_bytes() for k in footprint.read_only]
        read_write = [k.to_xdr_bytes() for k in footprint.read_write]
        tx.footprint = (set(read_only), set(read_write))
        if (declared < 0 or len(tx.footprint[0] | tx.footprint[1]) != len(read_only) + len(read_write)
                or any(k.type not in LEDGER_KEY_TYPES for k in footprint.read_only + footprint.read_write)):
            raise Rejected(Code.txSOROBAN_INVALID, inner)
        required = fees.resource_fee(tx.soroban.resources)
        if declared < required:
            raise Rejected(Code.txINSUFFICIENT_FEE, inner)
    inclusion = fees.inclusion_fee(len(ops), tx.fee_bump is not None)
    if tx.fee_bump is not None:
        if tx.fee < inclusion + declared:
            raise Rejected(Code.txINSUFFICIENT_FEE)
    elif tx.fee - declared < inclusion:
        raise Rejected(Code.txINSUFFICIENT_FEE)
    tx.charge = inclusion + required
    _check_signatures(tx.inner_hash, tx.inner_signatures, signers(tx.tx, tx.source), inner)
    if tx.fee_bump is not None:
        _check_signatures(tx.hash, tx.envelope.fee_bump.signatures, {tx.fee_source}, False)


def check_time(tx: Tx, close_time: int, ledger_seq: int) -> None:
    """Time and ledger bounds against the ledger the transaction would be applied in."""
    inner = tx.fee_bump is not None
    cond = tx.tx.cond
    bounds = cond.time_bounds if cond.type == xdr.PreconditionType.PRECOND_TIME else (
        cond.v2.time_bounds if cond.type == xdr.PreconditionType.PRECOND_V2 else None)
    if bounds is not None:
        if bounds.min_time.time_point.uint64 > close_time:
            raise Rejected(Code.txTOO_EARLY, inner)
        max_time = bounds.max_time.time_point.uint64
        if max_time and max_time < close_time:
            raise Rejected(Code.txTOO_LATE, inner)
    if cond.type == xdr.PreconditionType.PRECOND_V2 and cond.v2.ledger_bounds is not None:
        ledger_bounds = cond.v2.ledger_bounds
        if ledger_bounds.min_ledger.uint32 > ledger_seq:
            raise Rejected(Code.txTOO_EARLY, inner)
        if ledger_bounds.max_ledger.uint32 and ledger_bounds.max_ledger.uint32 <= ledger_seq:
            raise Rejected(Code.txTOO_LATE, inner)


def check_account(tx: Tx, source: E.Entry | None, fee_source: E.Entry | None, expected_seq: int,
                  reserved_fees: int) -> None:
    """Source and fee-source accounts exist, the sequence number is next, the fee is affordable."""
    inner = tx.fee_bump is not None
    if fee_source is None:
        raise Rejected(Code.txNO_ACCOUNT)
    if source is None:
        raise Rejected(Code.txNO_ACCOUNT, inner)
    if tx.seq != expected_seq:
        raise Rejected(Code.txBAD_SEQ, inner)
    available = E.account_balance(fee_source.data) - E.min_balance(fee_source.data) - reserved_fees
    if available < tx.charge:
        raise Rejected(Code.txINSUFFICIENT_BALANCE)
