"""The pooler agent's local file: per block and farmer, the best nonce found, the work sent, the report.

A pooler machine has no database; this small JSON file is what lets a restarted
agent submit the nonces it had found while the block is still open, and resolve
the transactions it had sent. It is written atomically (temporary file, fsync,
rename), so a kill at any moment leaves either the old or the new version.
No key is ever written here.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1
PENDING, SUCCESS, FAILED, EXPIRED = "pending", "success", "failed", "expired"


class StateFileError(ValueError):
    """The state file cannot be used (unreadable, another version, another pooler); the message says which."""


@dataclass
class Found:
    """A nonce and its hash (hex) with the hash's leading zero nibbles."""

    nonce: int
    hash: str
    zeros: int


@dataclass
class Attempt:
    """One `work` transaction sent for a farmer, and what became of it."""

    tx_hash: str
    nonce: int
    hash: str
    zeros: int
    channel: int
    max_time: int
    status: str = PENDING
    ledger: int | None = None
    gap: int | None = None
    reason: str | None = None


@dataclass
class FarmerWork:
    """One planted farmer in one block: its plant, best nonce, work attempts and report."""

    address: str
    plant_ledger: int | None = None
    stake: int | None = None
    farmer_id: int | None = None
    best: Found | None = None
    attempts: list[Attempt] = field(default_factory=list)
    chain_zeros: int | None = None  # zeros the pail is known to hold on chain
    closed: str | None = None  # why no more work can be sent (e.g. the pail is gone)
    reported: bool = False

    @property
    def pending(self) -> Attempt | None:
        """The attempt still waiting for the chain, if any."""
        return next((a for a in self.attempts if a.status == PENDING), None)

    @property
    def landed(self) -> Attempt | None:
        """The successful attempt with the most zeros: the work the pail holds."""
        done = [a for a in self.attempts if a.status == SUCCESS]
        return max(done, key=lambda a: a.zeros) if done else None

    @property
    def sent_zeros(self) -> int | None:
        """Zeros of the best work that is landed or may still land (or that the pail holds)."""
        live = [a.zeros for a in self.attempts if a.status in (PENDING, SUCCESS)]
        if self.chain_zeros is not None:
            live.append(self.chain_zeros)
        return max(live) if live else None


@dataclass
class BlockWork:
    """A block the agent works: its hash inputs, timing and farmers."""

    index: int
    entropy: str
    timestamp: int
    farmers: dict[str, FarmerWork] = field(default_factory=dict)
    next_nonce: int = 0
    reported: bool = False

    @property
    def entropy_bytes(self) -> bytes:
        return bytes.fromhex(self.entropy)


def _farmer(data: dict[str, Any]) -> FarmerWork:
    data = dict(data)
    data["best"] = Found(**data["best"]) if data.get("best") else None
    data["attempts"] = [Attempt(**a) for a in data.get("attempts", [])]
    return FarmerWork(**data)


def _block(data: dict[str, Any]) -> BlockWork:
    data = dict(data)
    data["farmers"] = {address: _farmer(f) for address, f in data.get("farmers", {}).items()}
    return BlockWork(**data)


def dumps(pooler: str, blocks: dict[int, BlockWork]) -> str:
    """The file's text for these blocks (take it under the caller's lock, write it outside)."""
    return json.dumps({"version": VERSION, "pooler": pooler,
                       "blocks": {str(i): asdict(b) for i, b in sorted(blocks.items())}},
                      separators=(",", ":"))


class StateFile:
    """Load and save the agent's blocks at `path`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self, pooler: str) -> dict[int, BlockWork]:
        """The saved blocks, or none when there is no file; a file of another pooler is refused."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StateFileError(f"state file {self.path} is unreadable: {exc}") from None
        if data.get("version") != VERSION:
            raise StateFileError(f"state file {self.path} has version {data.get('version')!r}, "
                             f"expected {VERSION}")
        if data.get("pooler") != pooler:
            raise StateFileError(f"state file {self.path} belongs to pooler {data.get('pooler')}, "
                             f"not {pooler}")
        try:
            return {int(index): _block(block) for index, block in data.get("blocks", {}).items()}
        except (TypeError, ValueError, KeyError) as exc:
            raise StateFileError(f"state file {self.path} is malformed: {exc}") from None

    def save(self, pooler: str, blocks: dict[int, BlockWork]) -> None:
        """Replace the file with these blocks, atomically."""
        self.write(dumps(pooler, blocks))

    def write(self, text: str) -> None:
        """Replace the file with `text` (from `dumps`), atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
