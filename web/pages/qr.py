"""QR codes of Stellar addresses, drawn as SVG on the server (no script, no network)."""
from __future__ import annotations

import io

import segno
from stellar_sdk import StrKey


def is_account(address: str) -> bool:
    """Whether `address` is a valid Stellar account id (G...)."""
    return StrKey.is_valid_ed25519_public_key(address)


def address_svg(address: str) -> bytes:
    """An SVG QR code of `address` (a wallet scans it into the destination field)."""
    buffer = io.BytesIO()
    segno.make(address, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False,
                                        svgclass="qr", title=address)
    return buffer.getvalue()
