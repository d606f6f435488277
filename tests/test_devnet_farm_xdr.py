"""The devnet's packed Block/Pail XDR is byte-for-byte chain.storage's encoding."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chain import storage
from chain.kale import I128_MAX, I128_MIN, U32_MAX, U64_MAX, Block, Pail
from devnet.contracts.farm_xdr import block_xdr, pail_xdr

u32 = st.integers(0, U32_MAX)
i128 = st.integers(I128_MIN, I128_MAX)


@given(st.integers(0, U64_MAX), u32, i128, u32, u32, i128, u32, st.binary(min_size=32, max_size=32), i128, i128)
def test_block_xdr_matches_chain_storage(timestamp, min_gap, min_stake, min_zeros, max_gap, max_stake,
                                         max_zeros, entropy, staked, normalized):
    block = Block(timestamp, min_gap, min_stake, min_zeros, max_gap, max_stake, max_zeros, entropy, staked,
                  normalized)
    assert block_xdr(block) == storage.block_to_scval(block).to_xdr_bytes()


@given(u32, st.none() | u32, i128, st.none() | u32)
def test_pail_xdr_matches_chain_storage(sequence, gap, stake, zeros):
    pail = Pail(sequence, gap, stake, zeros)
    assert pail_xdr(pail) == storage.pail_to_scval(pail).to_xdr_bytes()
