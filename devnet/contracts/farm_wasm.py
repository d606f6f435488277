"""The farm's contract code entry: a valid WebAssembly module carrying the farm's real interface.

The devnet runs the farm in Python (devnet/contracts/farm.py); the code entry exists so that
tools reading a contract's interface (the JS SDK's `getContractMethods`, `stellar contract
invoke`, bindings generators) see the published contract's functions and types. The module
exports each function (bodies are `unreachable`: nothing executes them) and carries the
custom sections soroban-sdk writes: `contractspecv0` (functions, structs, unions, errors, as
in the public KALE-sc source), `contractenvmetav0` (interface version) and `contractmetav0`.
"""
from __future__ import annotations

from stellar_sdk import xdr

from chain.kale import KaleError

_T = xdr.SCSpecType
ENV_PROTOCOL = 23  # the interface version soroban-sdk 23 builds against


def _type(kind: xdr.SCSpecType, **arm) -> xdr.SCSpecTypeDef:
    return xdr.SCSpecTypeDef(kind, **arm)


ADDRESS, I128, U32, U64, BOOL, VAL, SYMBOL = (_type(k) for k in (
    _T.SC_SPEC_TYPE_ADDRESS, _T.SC_SPEC_TYPE_I128, _T.SC_SPEC_TYPE_U32, _T.SC_SPEC_TYPE_U64,
    _T.SC_SPEC_TYPE_BOOL, _T.SC_SPEC_TYPE_VAL, _T.SC_SPEC_TYPE_SYMBOL))
BYTES32 = _type(_T.SC_SPEC_TYPE_BYTES_N, bytes_n=xdr.SCSpecTypeBytesN(xdr.Uint32(32)))


def _option(inner: xdr.SCSpecTypeDef) -> xdr.SCSpecTypeDef:
    return _type(_T.SC_SPEC_TYPE_OPTION, option=xdr.SCSpecTypeOption(inner))


def _vec(inner: xdr.SCSpecTypeDef) -> xdr.SCSpecTypeDef:
    return _type(_T.SC_SPEC_TYPE_VEC, vec=xdr.SCSpecTypeVec(inner))


def _udt(name: str) -> xdr.SCSpecTypeDef:
    return _type(_T.SC_SPEC_TYPE_UDT, udt=xdr.SCSpecTypeUDT(name.encode()))


def _result_of_errors() -> xdr.SCSpecTypeDef:
    return _type(_T.SC_SPEC_TYPE_RESULT, result=xdr.SCSpecTypeResult(_type(_T.SC_SPEC_TYPE_VOID), _udt("Errors")))


def _function(name: str, inputs: list[tuple[str, xdr.SCSpecTypeDef]],
              output: xdr.SCSpecTypeDef | None = None) -> xdr.SCSpecEntry:
    return xdr.SCSpecEntry(xdr.SCSpecEntryKind.SC_SPEC_ENTRY_FUNCTION_V0, function_v0=xdr.SCSpecFunctionV0(
        b"", xdr.SCSymbol(name.encode()), [xdr.SCSpecFunctionInputV0(b"", n.encode(), t) for n, t in inputs],
        [output] if output is not None else []))


def _struct(name: str, fields: list[tuple[str, xdr.SCSpecTypeDef]], lib: str = "") -> xdr.SCSpecEntry:
    return xdr.SCSpecEntry(xdr.SCSpecEntryKind.SC_SPEC_ENTRY_UDT_STRUCT_V0, udt_struct_v0=xdr.SCSpecUDTStructV0(
        b"", lib.encode(), name.encode(), [xdr.SCSpecUDTStructFieldV0(b"", n.encode(), t) for n, t in fields]))


def _case(name: str, types: list[xdr.SCSpecTypeDef]) -> xdr.SCSpecUDTUnionCaseV0:
    kind = xdr.SCSpecUDTUnionCaseV0Kind
    if not types:
        return xdr.SCSpecUDTUnionCaseV0(kind.SC_SPEC_UDT_UNION_CASE_VOID_V0,
                                        void_case=xdr.SCSpecUDTUnionCaseVoidV0(b"", name.encode()))
    return xdr.SCSpecUDTUnionCaseV0(kind.SC_SPEC_UDT_UNION_CASE_TUPLE_V0,
                                    tuple_case=xdr.SCSpecUDTUnionCaseTupleV0(b"", name.encode(), types))


def _union(name: str, cases: list[tuple[str, list[xdr.SCSpecTypeDef]]], lib: str = "") -> xdr.SCSpecEntry:
    return xdr.SCSpecEntry(xdr.SCSpecEntryKind.SC_SPEC_ENTRY_UDT_UNION_V0, udt_union_v0=xdr.SCSpecUDTUnionV0(
        b"", lib.encode(), name.encode(), [_case(n, t) for n, t in cases]))


def _errors() -> xdr.SCSpecEntry:
    return xdr.SCSpecEntry(xdr.SCSpecEntryKind.SC_SPEC_ENTRY_UDT_ERROR_ENUM_V0,
                           udt_error_enum_v0=xdr.SCSpecUDTErrorEnumV0(b"", b"", b"Errors", [
                               xdr.SCSpecUDTErrorEnumCaseV0(b"", e.name.encode(), xdr.Uint32(int(e)))
                               for e in KaleError]))


# (name, inputs, output): the farm's public functions, in KALE-sc's order (lib.rs traits)
FUNCTIONS: list[tuple[str, list[tuple[str, xdr.SCSpecTypeDef]], xdr.SCSpecTypeDef | None]] = [
    ("__constructor", [("farmer", ADDRESS), ("asset", ADDRESS)], None),
    ("upgrade", [("hash", BYTES32)], None),
    ("pause", [], None),
    ("unpause", [], None),
    ("remove_block", [("index", U32)], None),
    ("__check_auth", [("signature_payload", BYTES32), ("_signatures", _option(_vec(VAL))),
                      ("_auth_contexts", _vec(_udt("Context")))], _result_of_errors()),
    ("plant", [("farmer", ADDRESS), ("amount", I128)], None),
    ("work", [("farmer", ADDRESS), ("hash", BYTES32), ("nonce", U64)], U32),
    ("harvest", [("farmer", ADDRESS), ("index", U32)], I128),
]


def spec_entries() -> list[xdr.SCSpecEntry]:
    """The contract's interface, as soroban-sdk writes it into `contractspecv0`."""
    types = [
        _struct("Block", [("entropy", BYTES32), ("max_gap", U32), ("max_stake", I128), ("max_zeros", U32),
                          ("min_gap", U32), ("min_stake", I128), ("min_zeros", U32),
                          ("normalized_total", I128), ("staked_total", I128), ("timestamp", U64)]),
        _struct("Pail", [("gap", _option(U32)), ("sequence", U32), ("stake", I128), ("zeros", _option(U32))]),
        _union("Storage", [("Homesteader", []), ("HomesteadAsset", []), ("FarmIndex", []), ("FarmBlock", []),
                           ("FarmPaused", []), ("Block", [U32]), ("Pail", [ADDRESS, U32])]),
        _errors(),
        _struct("ContractContext", [("args", _vec(VAL)), ("contract", ADDRESS), ("fn_name", SYMBOL)],
                lib="soroban_sdk"),
        _union("Context", [("Contract", [_udt("ContractContext")])], lib="soroban_sdk"),
    ]
    return [_function(*f) for f in FUNCTIONS] + types


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _vector(items: list[bytes]) -> bytes:
    return _leb(len(items)) + b"".join(items)


def _name(text: str) -> bytes:
    return _leb(len(text)) + text.encode()


def _section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + _leb(len(payload)) + payload


def _custom(name: str, payload: bytes) -> bytes:
    return _section(0, _name(name) + payload)


def module() -> bytes:
    """The farm's WebAssembly module: every function exported as (i64...) -> i64, plus the custom sections."""
    arities = sorted({len(inputs) for _, inputs, _ in FUNCTIONS})
    types = [b"\x60" + _vector([b"\x7e"] * n) + _vector([b"\x7e"]) for n in arities]  # func (i64^n) -> i64
    functions = [_leb(arities.index(len(inputs))) for _, inputs, _ in FUNCTIONS]
    exports = [_name(name) + b"\x00" + _leb(i) for i, (name, _, _) in enumerate(FUNCTIONS)]
    bodies = [_leb(3) + b"\x00\x00\x0b" for _ in FUNCTIONS]  # no locals; unreachable; end
    env_meta = xdr.SCEnvMetaEntry(xdr.SCEnvMetaKind.SC_ENV_META_KIND_INTERFACE_VERSION,
                                  interface_version=xdr.SCEnvMetaEntryInterfaceVersion(
                                      xdr.Uint32(ENV_PROTOCOL), xdr.Uint32(0)))
    meta = [xdr.SCMetaEntry(xdr.SCMetaKind.SC_META_V0, v0=xdr.SCMetaV0(k.encode(), v.encode()))
            for k, v in (("rsver", "1.89.0"), ("rssdkver", "23.0.0-rc.2.1"),
                         ("source", "kalepool devnet: executed natively by devnet/contracts/farm.py"))]
    return b"".join([
        b"\0asm", (1).to_bytes(4, "little"),
        _section(1, _vector(types)), _section(3, _vector(functions)), _section(7, _vector(exports)),
        _section(10, _vector(bodies)),
        _custom("contractenvmetav0", env_meta.to_xdr_bytes()),
        _custom("contractmetav0", b"".join(m.to_xdr_bytes() for m in meta)),
        _custom("contractspecv0", b"".join(e.to_xdr_bytes() for e in spec_entries())),
    ])
