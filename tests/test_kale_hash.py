"""chain.kale: the proof-of-work preimage, hash and zero count."""
import random

import pytest
from stellar_sdk import Keypair, StrKey

from chain import kale
from tests.keccak_reference import keccak256 as reference_keccak256

ACCOUNT = "GAH4IHY7OHZIVXUXF2YTLWV5W6AEIDOTNFIJFKXVCQ3KUJMI2P5SBYVH"
CONTRACT = "CDGCCLIS6P3ECPTM5XGU4MM5UKMWVIWKA6LVDVNAXX5LLQ4SUOSWYDIA"


def test_preimage_is_index_nonce_entropy_and_account_key_in_76_bytes():
    entropy = bytes(range(32))
    data = kale.preimage(0x01020304, 0x05060708090A0B0C, entropy, ACCOUNT)
    assert len(data) == 76
    assert data[:4] == bytes([1, 2, 3, 4])
    assert data[4:12] == bytes([5, 6, 7, 8, 9, 10, 11, 12])
    assert data[12:44] == entropy
    assert data[44:] == StrKey.decode_ed25519_public_key(ACCOUNT)


def test_preimage_of_a_contract_farmer_ends_with_the_contract_hash():
    assert kale.preimage(1, 1, bytes(32), CONTRACT)[44:] == StrKey.decode_contract(CONTRACT)


def test_keccak256_is_the_original_keccak_not_nist_sha3():
    assert kale.keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")


@pytest.mark.parametrize("seed", range(20))
def test_kale_hash_matches_an_independent_keccak_on_random_inputs(seed):
    rng = random.Random(seed)
    farmer = (Keypair.random().public_key if seed % 2
              else StrKey.encode_contract(rng.randbytes(32)))
    index, nonce, entropy = rng.getrandbits(32), rng.getrandbits(64), rng.randbytes(32)
    expected = reference_keccak256(kale.preimage(index, nonce, entropy, farmer))
    assert kale.kale_hash(index, nonce, entropy, farmer) == expected


@pytest.mark.parametrize("first_bytes, zeros", [
    (b"\x00" * 32, 64),
    (b"\x0f", 1),
    (b"\x10", 0),
    (b"\xff", 0),
    (b"\x00\x0f", 3),
    (b"\x00\x10", 2),
    (b"\x00\x00\x01", 5),
    (b"\x00\x00\x00\xf0", 6),
])
def test_count_zeros_counts_leading_zero_nibbles(first_bytes, zeros):
    hash = first_bytes + b"\xff" * (32 - len(first_bytes))
    assert kale.count_zeros(hash) == zeros


@pytest.mark.parametrize("entropy", [bytes(31), bytes(33), b"", "00" * 32, None])
def test_entropy_of_the_wrong_length_or_type_is_refused(entropy):
    with pytest.raises(ValueError, match="entropy"):
        kale.preimage(1, 1, entropy, ACCOUNT)


@pytest.mark.parametrize("farmer", [
    "G" + "A" * 55,                      # bad checksum
    ACCOUNT[:-1] + ("A" if ACCOUNT[-1] != "A" else "B"),
    ACCOUNT.lower(),
    "SAV76USXIJOBMEQXPANUOQM6F5LIOTLPDIDVRJBFFE2MDJXG24TAPUU7",  # a secret seed is no farmer
    "",
    12345,
])
def test_malformed_or_checksum_failing_farmers_are_refused(farmer):
    with pytest.raises(ValueError, match="farmer"):
        kale.preimage(1, 1, bytes(32), farmer)


@pytest.mark.parametrize("name, index, nonce", [
    ("index", -1, 0), ("index", 2**32, 0), ("nonce", 0, -1), ("nonce", 0, 2**64),
    ("index", True, 0), ("nonce", 0, 1.0),
])
def test_out_of_range_index_or_nonce_is_refused_not_wrapped(name, index, nonce):
    with pytest.raises(ValueError, match=name):
        kale.kale_hash(index, nonce, bytes(32), ACCOUNT)
