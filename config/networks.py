"""Built-in network profiles: what differs between devnet, testnet and mainnet."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Network:
    """One Stellar network and the KALE deployment on it."""

    name: str
    passphrase: str
    rpc_url: str
    farm_contract: str
    kale_asset_code: str
    kale_asset_issuer: str
    kale_sac: str
    friendbot_url: str | None = None

    @property
    def kale_asset(self) -> str:
        """The asset as `CODE:ISSUER`, the SAC's `name`."""
        return f"{self.kale_asset_code}:{self.kale_asset_issuer}"


# The devnet's genesis is deterministic (devnet/genesis.py derives these from
# fixed seeds), so its contract ids are constants like those of the real networks.
DEVNET = Network(
    name="devnet",
    passphrase="Standalone Network ; February 2017",
    rpc_url="http://127.0.0.1:8000/rpc",
    farm_contract="CDGCCLIS6P3ECPTM5XGU4MM5UKMWVIWKA6LVDVNAXX5LLQ4SUOSWYDIA",
    kale_asset_code="KALE",
    kale_asset_issuer="GD6PNQUJY53SNV5Q7GZFLFEEVH54QDJKIRRIVFSTTEOUJSFZSV44AQRX",
    kale_sac="CCUZ56AHTQU3RJKY2CKCYXCA7BJXUEK5HR7KKWXGMIU6RXFZHYW25QZT",
    friendbot_url="http://127.0.0.1:8000/friendbot",
)

TESTNET = Network(
    name="testnet",
    passphrase="Test SDF Network ; September 2015",
    rpc_url="https://soroban-testnet.stellar.org",
    farm_contract="CDSWUUXGPWDZG76ISK6SUCVPZJMD5YUV66J2FXFXFGDX25XKZJIEITAO",
    kale_asset_code="KALE",
    kale_asset_issuer="GCHPTWXMT3HYF4RLZHWBNRF4MPXLTJ76ISHMSYIWCCDXWUYOQG5MR2AB",
    kale_sac="CAAVU2UQJLMZ3GUZFM56KVNHLPA3ZSSNR4VP2U53YBXFD2GI3QLIVHZZ",
    friendbot_url="https://friendbot.stellar.org",
)

MAINNET = Network(
    name="mainnet",
    passphrase="Public Global Stellar Network ; September 2015",
    rpc_url="https://mainnet.sorobanrpc.com",
    farm_contract="CDL74RF5BLYR2YBLCCI7F5FB6TPSCLKEJUBSD2RSVWZ4YHF3VMFAIGWA",
    kale_asset_code="KALE",
    kale_asset_issuer="GBDVX4VELCDSQ54KQJYTNHXAHFLBCA77ZY2USQBM4CSHTTV7DME7KALE",
    kale_sac="CB23WRDQWGSP6YPMY4UV5C4OW5CBTXKYN3XEATG7KJEZCXMJBYEHOUOV",
)

NETWORKS: dict[str, Network] = {n.name: n for n in (DEVNET, TESTNET, MAINNET)}
