"""The devnet's fee model: inclusion fee per operation and a simple, deterministic resource fee.

Charged fee = BASE_FEE x operations (x (operations + 1) for a fee bump) + the
resource fee of the declared SorobanResources. Simulation returns exactly that
resource fee as `minResourceFee` (and as `transactionData.resourceFee`), so a
prepared transaction is charged what it declared; nothing is refunded.
"""
from __future__ import annotations

from stellar_sdk import xdr

BASE_FEE = 100
FEE_BASE = 10_000
FEE_PER_ENTRY = 1_000
FEE_PER_WRITE_ENTRY = 2_000
INSTRUCTIONS_PER_STROOP = 400  # 25 stroops per 10,000 instructions
READ_BYTES_PER_STROOP = 4


def resource_fee(resources: xdr.SorobanResources) -> int:
    """Stroops for the declared footprint, instructions and bytes."""
    footprint = resources.footprint
    entries = len(footprint.read_only) + len(footprint.read_write)
    return (FEE_BASE + resources.instructions.uint32 // INSTRUCTIONS_PER_STROOP
            + FEE_PER_ENTRY * entries + FEE_PER_WRITE_ENTRY * len(footprint.read_write)
            + resources.disk_read_bytes.uint32 // READ_BYTES_PER_STROOP + resources.write_bytes.uint32)


def inclusion_fee(operations: int, fee_bump: bool = False) -> int:
    """The inclusion fee charged on an uncongested network: the base fee per operation."""
    return BASE_FEE * (operations + (1 if fee_bump else 0))
