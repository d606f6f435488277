"""Ledger headers and LedgerCloseMeta as the devnet's protocol writes them.

Protocol 23 headers carry `StellarValue` BASIC; protocol 30 headers carry CAP-88's
STELLAR_VALUE_SIGNED_MS arm (millisecond close time and the validator's signature), which
stellar-sdk 16.1.1 cannot encode, so the arm is spliced in as bytes. getLedgers and
getLatestLedger serve LedgerCloseMeta v2 (what stellar-rpc returns since protocol 23):
the header, the generalized transaction set (classic phase, parallel Soroban phase), and
each transaction's result and meta.
"""
from __future__ import annotations

import hashlib
import struct

from stellar_sdk import Keypair, xdr

from devnet.history import LedgerRow, TxRow

PROTOCOLS = (23, 30)
MS_CLOSE_TIME_PROTOCOL = 30
STELLAR_VALUE_SIGNED_MS = 3
SOROBAN_WRITE_FEE_1KB = 3_500
_I32 = struct.Struct(">i").pack
_U32 = struct.Struct(">I").pack
_I64 = struct.Struct(">q").pack
_U64 = struct.Struct(">Q").pack
_EXT_OFFSET = 80  # version, previous hash, txSetHash, closeTime, upgrades<> (none): StellarValue.ext
_TAIL = 240  # bytes after StellarValue: hashes, seq, coins, fee pool, ..., skip list, ext v0
_FEE_POOL_FROM_END = 164


def validator() -> Keypair:
    """The devnet's single validator, which signs each ledger's close value (protocol 30)."""
    return Keypair.from_raw_ed25519_seed(hashlib.sha256(b"kalepool devnet validator").digest())


def _signed_ms_value(network_id: bytes, tx_set_hash: bytes, close_time: int) -> bytes:
    """StellarValue.ext SIGNED_MS: closeTimeMs, then the LedgerCloseValueSignature."""
    close_time_ms = close_time * 1000
    signer = validator()
    signature = signer.sign(hashlib.sha256(network_id + tx_set_hash + _U64(close_time_ms)).digest())
    return (_I32(STELLAR_VALUE_SIGNED_MS) + _U64(close_time_ms) + _I32(0) + signer.raw_public_key()
            + _U32(len(signature)) + signature)


def header_bytes(protocol: int, header: xdr.LedgerHeader, network_id: bytes) -> bytes:
    """The LedgerHeader's XDR as `protocol` writes it (its StellarValue.ext BASIC is replaced
    by the signed millisecond arm from protocol 30 on)."""
    header.ledger_version = xdr.Uint32(protocol)
    raw = header.to_xdr_bytes()
    if protocol < MS_CLOSE_TIME_PROTOCOL:
        return raw
    value = header.scp_value
    return (raw[:_EXT_OFFSET]
            + _signed_ms_value(network_id, value.tx_set_hash.hash, value.close_time.time_point.uint64)
            + raw[_EXT_OFFSET + 4:])


def fee_pool(header: bytes) -> int:
    """The feePool of a header this module wrote (any protocol: it sits at a fixed distance from the end)."""
    return int.from_bytes(header[-_FEE_POOL_FROM_END:-_FEE_POOL_FROM_END + 8], "big", signed=True)


_SOROBAN_OPS = (24, 25, 26)  # invoke host function, extend footprint TTL, restore footprint
_FEE_BUMP_CODES = (1, -13)  # txFEE_BUMP_INNER_SUCCESS / _FAILED: an inner result pair follows


def _is_soroban(tx: TxRow) -> bool:
    """Whether the transaction is a Soroban one: read from its first operation result when it has
    one (cheap), else from the envelope."""
    result, at = tx.result, 8
    if int.from_bytes(result[at:at + 4], "big", signed=True) in _FEE_BUMP_CODES:
        at += 4 + 32 + 8
    code = int.from_bytes(result[at:at + 4], "big", signed=True)
    if code in (0, -1) and len(result) >= at + 16 and result[at + 4:at + 8] != bytes(4) \
            and result[at + 8:at + 12] == bytes(4):  # results<> not empty, first is opINNER
        return int.from_bytes(result[at + 12:at + 16], "big") in _SOROBAN_OPS
    parsed = xdr.TransactionEnvelope.from_xdr_bytes(tx.envelope)
    if parsed.fee_bump is not None:
        tx = parsed.fee_bump.tx.inner_tx.v1.tx
    else:
        tx = parsed.v1.tx if parsed.v1 is not None else None
    return tx is not None and tx.ext.v == 1


def _envelopes(envelopes: list[bytes]) -> bytes:
    return _U32(len(envelopes)) + b"".join(envelopes)


def _tx_set(previous_hash: bytes, txs: list[TxRow]) -> bytes:
    """GeneralizedTransactionSet v1: a classic phase (v0, one component) and a Soroban phase
    (v1, parallel: one stage, one cluster)."""
    soroban = [t.envelope for t in txs if _is_soroban(t)]
    classic = [t.envelope for t in txs if not _is_soroban(t)]
    base_fee = _U32(1) + _I64(100)
    classic_phase = _I32(0) + (_U32(1) + _I32(0) + base_fee + _envelopes(classic) if classic else _U32(0))
    stages = _U32(1) + _U32(1) + _envelopes(soroban) if soroban else _U32(0)
    soroban_phase = _I32(1) + base_fee + stages
    return _I32(1) + previous_hash + _U32(2) + classic_phase + soroban_phase


def _result_meta(tx: TxRow) -> bytes:
    """TransactionResultMetaV1: ext, (hash, result), feeProcessing, txApplyProcessing, postTxApplyFeeProcessing."""
    return _I32(0) + bytes.fromhex(tx.hash) + tx.result + _U32(0) + tx.meta + _U32(0)


def ledger_close_meta(row: LedgerRow, previous_hash: bytes, txs: list[TxRow]) -> bytes:
    """LedgerCloseMeta v2 of a closed ledger with its transactions (in application order)."""
    return b"".join([
        _I32(2), _I32(1), _I32(0), _I64(SOROBAN_WRITE_FEE_1KB),  # v2; ext v1 (ext v0, sorobanFeeWrite1KB)
        row.history_entry(), _tx_set(previous_hash, txs),
        _U32(len(txs)), *(_result_meta(t) for t in txs),
        _U32(0), _U32(0),  # upgradesProcessing, scpInfo
        _U64(0), _U32(0),  # totalByteSizeOfLiveSorobanState (not tracked), evictedKeys
    ])
