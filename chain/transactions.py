"""Building, preparing and reading Soroban transactions, and naming why one failed.

Signing is not here: custodial keys are used only inside `chain.custody`; the
pooler signs `work` with its own key.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from stellar_sdk import Account, Address, Keypair, TransactionBuilder, TransactionEnvelope, xdr
from stellar_sdk.exceptions import PrepareTransactionException
from stellar_sdk.operation import Operation
from stellar_sdk.soroban_data_builder import SorobanDataBuilder
from stellar_sdk.soroban_rpc import GetTransactionResponse, SendTransactionResponse

from chain import meta
from chain.kale import KaleError
from chain.rpc import ChainClient
from chain.tolerance import note_skipped

_CONTRACT_ERROR = re.compile(r"Error\(Contract, #(\d+)\)")


@dataclass(frozen=True)
class Failure:
    """Why a transaction did not succeed, in terms a caller can act on.

    kind: `retry` (try the same envelope again later), `bad_seq` (look the hash up
    before anything else), `fee_too_low`, `out_of_xlm`, `expired` (its time bound
    passed), `contract` (the contract refused: `code`/`name`), `rejected` (any other
    permanent refusal).
    """

    kind: str
    code: str
    detail: str = ""
    contract_code: int | None = None

    @property
    def name(self) -> str:
        """`#N Name` for contract errors, else the result code."""
        if self.contract_code is None:
            return self.code
        try:
            return f"#{self.contract_code} {KaleError(self.contract_code).name}"
        except ValueError:
            return f"#{self.contract_code}"


class SimulationFailed(RuntimeError):
    """Preflight refused the invocation (e.g. the contract would fail)."""

    def __init__(self, failure: Failure):
        self.failure = failure
        super().__init__(f"simulation failed: {failure.name} {failure.detail}".strip())


def contract_error_code(text: str | None) -> int | None:
    """The N of the first `Error(Contract, #N)` in a host error message, if any."""
    match = _CONTRACT_ERROR.search(text or "")
    return int(match.group(1)) if match else None


def valid_until(client: ChainClient, timeout: int) -> int:
    """A time bound `timeout` seconds past the latest ledger's close time.

    Ledger time, not the wall clock: on a fast devnet the two drift apart quickly.
    """
    return client.latest_ledger().close_time + timeout


def build_invocation(client: ChainClient, source: str, sequence: int, operation: Operation,
                     base_fee: int, max_time: int,
                     read_only: list[xdr.LedgerKey] | None = None) -> TransactionEnvelope:
    """A prepared (simulated, footprint and resource fee set) unsigned Soroban transaction.

    `sequence` is the source account's current sequence; the transaction uses sequence + 1.
    `read_only` gives the footprint up front, as ExtendFootprintTTL needs.
    """
    builder = TransactionBuilder(Account(source, sequence), client.network.passphrase, base_fee)
    builder.append_operation(operation).add_time_bounds(0, max_time)
    if read_only is not None:
        builder.set_soroban_data(SorobanDataBuilder().set_read_only(read_only).build())
    try:
        return client.server.prepare_transaction(builder.build())
    except PrepareTransactionException as exc:
        error = getattr(exc.simulate_transaction_response, "error", None) or str(exc)
        code = contract_error_code(error)
        raise SimulationFailed(Failure(
            "contract" if code is not None else "rejected", "simulation", error[:300], code)) from None


def build_classic(client: ChainClient, source: str, sequence: int, operations: list[Operation],
                  base_fee: int, max_time: int) -> TransactionEnvelope:
    """An unsigned classic transaction (payments, trustlines, account merge)."""
    builder = TransactionBuilder(Account(source, sequence), client.network.passphrase, base_fee)
    for operation in operations:
        builder.append_operation(operation)
    return builder.add_time_bounds(0, max_time).build()


def envelope_max_time(envelope: TransactionEnvelope) -> int:
    """The envelope's time bound (unix seconds); 0 means none."""
    preconditions = envelope.transaction.preconditions
    bounds = preconditions.time_bounds if preconditions else None
    return bounds.max_time if bounds else 0


def sign_with(envelope: TransactionEnvelope, keypair: Keypair) -> str:
    """Sign with a keypair the caller already holds (the pooler's own key) and return the XDR."""
    envelope.sign(keypair)
    return envelope.to_xdr()


def invocation(envelope_xdr: str) -> tuple[str, str, list[xdr.SCVal]]:
    """(contract, function, args) of an envelope's first InvokeHostFunction operation."""
    envelope = xdr.TransactionEnvelope.from_xdr(envelope_xdr)
    tx = envelope.v1.tx if envelope.v1 is not None else envelope.fee_bump.tx.inner_tx.v1.tx
    call = tx.operations[0].body.invoke_host_function_op.host_function.invoke_contract
    return (Address.from_xdr_sc_address(call.contract_address).address,
            call.function_name.sc_symbol.decode(), list(call.args))


def return_value(response: GetTransactionResponse) -> xdr.SCVal | None:
    """The invocation's return value from a successful transaction's meta (None if unreadable)."""
    outlined = meta.outline_or_none(response.result_meta_xdr)
    if outlined is None or outlined.return_value is None:
        return None
    try:
        return outlined.decode(outlined.return_value, xdr.SCVal)
    except Exception as exc:  # a value holding an arm newer than the SDK
        note_skipped("return value", exc)
        return None


def _result_code(result: xdr.TransactionResult) -> tuple[str, xdr.TransactionResult]:
    code = result.result.code
    if code in (xdr.TransactionResultCode.txFEE_BUMP_INNER_FAILED,
                xdr.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS):
        inner = result.result.inner_result_pair.result
        return inner.result.code.name, inner  # type: ignore[return-value]
    return code.name, result


def _diagnostic_events(events_xdr: list[str] | None) -> list[xdr.ContractEvent]:
    events = []
    for event_xdr in events_xdr or []:
        try:
            events.append(xdr.DiagnosticEvent.from_xdr(event_xdr).event)
        except Exception as exc:  # an event holding an arm newer than the SDK
            note_skipped("diagnostic event", exc)
    return events


def _contract_code_in_events(events: list[xdr.ContractEvent]) -> int | None:
    for event in events:
        body = event.body.v0
        for value in [*body.topics, body.data]:
            if value.type == xdr.SCValType.SCV_ERROR and value.error.type == xdr.SCErrorType.SCE_CONTRACT:
                return value.error.contract_code.uint32
    return None


_RESULT_KINDS = {
    "txBAD_SEQ": "bad_seq",
    "txINSUFFICIENT_FEE": "fee_too_low",
    "txINSUFFICIENT_BALANCE": "out_of_xlm",
    "txTOO_LATE": "expired",
    "txFROZEN_KEY_ACCESSED": "frozen",  # CAP-77: validators froze a key it touches; terminal
}


def classify_result(result_xdr: str, diagnostic_events: list[str] | None = None,
                    events: list[xdr.ContractEvent] | None = None) -> Failure:
    """Name the failure in a TransactionResult (from sendTransaction ERROR or a FAILED tx);
    a result code newer than the SDK is a permanent `rejected` naming its number."""
    try:
        code, result = _result_code(xdr.TransactionResult.from_xdr(result_xdr))
    except Exception as exc:
        note_skipped("transaction result", exc)
        raw = base64.b64decode(result_xdr)
        return Failure("rejected", f"result code {int.from_bytes(raw[8:12], 'big', signed=True)}"
                       if len(raw) >= 12 else "unreadable result")
    if code in _RESULT_KINDS:
        return Failure(_RESULT_KINDS[code], code)
    if code == "txFAILED":
        operation = result.result.results[0] if result.result.results else None
        op_code = (operation.tr.invoke_host_function_result.code.name
                   if operation is not None and operation.tr is not None
                   and operation.tr.invoke_host_function_result is not None else "opFAILED")
        contract = _contract_code_in_events(_diagnostic_events(diagnostic_events) + list(events or []))
        if contract is not None:
            return Failure("contract", op_code, contract_code=contract)
        if op_code == "INVOKE_HOST_FUNCTION_INSUFFICIENT_REFUNDABLE_FEE":
            return Failure("fee_too_low", op_code)
        return Failure("rejected", op_code)
    return Failure("rejected", code)


def classify_send(response: SendTransactionResponse) -> Failure | None:
    """None when the submission was accepted (PENDING or DUPLICATE), else why not."""
    status = response.status.value if hasattr(response.status, "value") else str(response.status)
    if status in ("PENDING", "DUPLICATE"):
        return None
    if status == "TRY_AGAIN_LATER":
        return Failure("retry", status)
    if response.error_result_xdr:
        return classify_result(response.error_result_xdr, response.diagnostic_events_xdr)
    return Failure("rejected", status)


def classify_failed(response: GetTransactionResponse) -> Failure:
    """Why a transaction that landed with status FAILED failed."""
    events = []
    outlined = meta.outline_or_none(response.result_meta_xdr)
    for span in outlined.diagnostic_events if outlined is not None else []:
        try:
            events.append(outlined.decode(span, xdr.ContractEvent))
        except Exception as exc:
            note_skipped("diagnostic event", exc)
    return classify_result(response.result_xdr, response.diagnostic_events_xdr, events)
