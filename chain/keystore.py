"""Where custody's master keys live: the system `keyring`, or a file keyring for the devnet.

Master keys are 32 random bytes, stored base64 under the service
`kalepool-<network>`, one entry per key id, plus an entry `current` that names
the key new wallets are wrapped under. Old keys stay until `keys rotate` has
re-wrapped every data key away from them.
"""
from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol

import keyring

from config import ConfigError, Settings

log = logging.getLogger(__name__)

CURRENT = "current"
KEY_BYTES = 32


class KeystoreError(RuntimeError):
    """A master key is missing or the keyring failed; the message names the key id, never a key."""


class Backend(Protocol):
    """The part of keyring's backend interface the keystore uses."""

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...

    def delete_password(self, service: str, username: str) -> None: ...


class FileKeyring:
    """A keyring in one JSON file (mode 0600), locked for writes: for devnets and explicit opt-in.

    Deliberately not a `keyring.backend.KeyringBackend` subclass, so keyring's
    own backend discovery never picks it as a "real" backend.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def name(self) -> str:
        return f"file keyring {self.path}"

    @contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, str]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "r+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            text = handle.read()
            data = json.loads(text) if text.strip() else {}
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                handle.seek(0)
                handle.truncate()
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())

    def get_password(self, service: str, username: str) -> str | None:
        with self._locked() as data:
            return data.get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked() as data:
            data.setdefault(service, {})[username] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._locked() as data:
            data.get(service, {}).pop(username, None)


def backend_name(backend: object) -> str:
    """A human name for a backend, for logs (never its contents)."""
    name = getattr(backend, "name", None)
    return name if isinstance(name, str) else type(backend).__name__


def has_real_backend(backend: object) -> bool:
    """Whether `keyring` found a usable system backend (not its fail or null stand-ins)."""
    try:
        return float(getattr(backend, "priority", 0)) > 0
    except Exception:  # a backend whose priority raises is not viable
        return False


class Keystore:
    """Master keys of one network in one backend."""

    def __init__(self, backend: Backend, network_name: str):
        self.backend = backend
        self.service = f"kalepool-{network_name}"
        self._keys: dict[str, bytes] = {}  # by id: a key id never changes its key

    @property
    def backend_name(self) -> str:
        return backend_name(self.backend)

    def current(self) -> tuple[str, bytes]:
        """(id, key) of the master key new wallets use; created on first use."""
        key_id = self.backend.get_password(self.service, CURRENT)
        if key_id is None:
            key_id = self.create()
            self.backend.set_password(self.service, CURRENT, key_id)
            log.info("custody: created master key %s in %s", key_id, self.backend_name)
        return key_id, self.get(key_id)

    def current_id(self) -> str | None:
        """The current master key's id, or None before the first wallet."""
        return self.backend.get_password(self.service, CURRENT)

    def get(self, key_id: str) -> bytes:
        """The master key with this id (read from the keyring once per process)."""
        if key_id in self._keys:
            return self._keys[key_id]
        encoded = self.backend.get_password(self.service, key_id)
        if encoded is None:
            raise KeystoreError(f"master key {key_id} is not in {self.backend_name}")
        key = base64.b64decode(encoded)
        if len(key) != KEY_BYTES:
            raise KeystoreError(f"master key {key_id} in {self.backend_name} is malformed")
        self._keys[key_id] = key
        return key

    def create(self) -> str:
        """Store a new random master key (not yet current) and return its id."""
        key_id = f"mk-{int(time.time())}-{secrets.token_hex(4)}"
        self.backend.set_password(self.service, key_id,
                                  base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode())
        return key_id

    def set_current(self, key_id: str) -> None:
        """Make `key_id` the key new wallets are wrapped under."""
        self.get(key_id)
        self.backend.set_password(self.service, CURRENT, key_id)

    def delete(self, key_id: str) -> None:
        """Forget a master key no data key is wrapped under any more."""
        if key_id == self.current_id():
            raise KeystoreError(f"master key {key_id} is current; it cannot be deleted")
        self.backend.delete_password(self.service, key_id)
        self._keys.pop(key_id, None)


def keystore_for(settings: Settings) -> Keystore:
    """The keystore the settings call for; testnet/mainnet refuse a file keyring unless allowed.

    Raises ConfigError (one line) when no acceptable backend exists.
    """
    file_backend = FileKeyring(Path(settings.state_dir) / "keyring" / f"{settings.network_name}.json")
    if settings.network_name == "devnet":
        backend: Backend = file_backend
    else:
        system = keyring.get_keyring()
        if has_real_backend(system):
            backend = system
        elif settings.allow_file_keyring:
            backend = file_backend
        else:
            raise ConfigError(f"custody: {settings.network_name} needs a real keyring backend for the "
                              f"master key, and keyring found none ({backend_name(system)}); install "
                              "one, or set KALEPOOL_ALLOW_FILE_KEYRING=1 to keep it in a file")
    log.info("custody: master keys in %s", backend_name(backend))
    return Keystore(backend, settings.network_name)
