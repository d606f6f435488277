"""Typed settings from defaults, an optional TOML file and the environment.

Precedence: environment variable > settings file (`KALEPOOL_CONFIG`) > default.
Every setting is validated when loaded; a bad one raises `ConfigError` with a
one-line message that names it (the variable, or the file and key, it came from).
Hand-written, not pydantic-settings: its sources read only os.environ and skip a
missing file, so both would be overridden, and Settings must stay a dataclass.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlparse

from config.networks import NETWORKS, Network

_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything a kalepool process is configured with."""

    network_name: str
    rpc_url: str
    database_url: str | None
    state_dir: Path
    pooler_share_bps: int
    max_farmers_per_pooler: int
    max_harvest_interval_blocks: int
    default_harvest_interval_blocks: int
    min_account_xlm_stroops: int
    plant_fee_reserve_stroops: int
    base_fee_stroops: int
    tx_timeout_seconds: int
    ttl_guard_ledgers: int
    job_interval_seconds: float
    api_rate_limit_per_minute: int
    api_max_body_bytes: int
    api_header_timeout_seconds: float
    api_body_timeout_seconds: float
    api_trusted_proxy_hops: int
    registration_ttl_seconds: int
    registrations_per_hour: int
    allow_file_keyring: bool
    log_level: str
    cors_origins: tuple[str, ...]
    explorer_tx_url: str | None
    payout_address_change_delay_seconds: int
    web_auth_domain: str
    fee_sponsor: bool = False
    fee_sponsor_cap_stroops: int = 10_000_000

    @property
    def network(self) -> Network:
        """The network profile, with the RPC URL override applied."""
        return dataclasses.replace(NETWORKS[self.network_name], rpc_url=self.rpc_url)


def _in_range(convert: Callable[[str], Any], kind: str, low: Any, high: Any) -> Callable[[str, Any], Any]:
    def parse(label: str, raw: Any) -> Any:
        try:
            if isinstance(raw, bool):
                raise ValueError
            value = convert(str(raw).strip().replace("_", ""))
        except ValueError:
            raise ConfigError(f"{label}: must be {kind}, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{label}: must be between {low} and {high}, got {value}")
        return value

    return parse


def _int_in(low: int, high: int) -> Callable[[str, Any], int]:
    return _in_range(lambda text: int(text, 10), "an integer", low, high)


def _float_in(low: float, high: float) -> Callable[[str, Any], float]:
    return _in_range(float, "a number", low, high)


def _bool(label: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{label}: must be a boolean (1/0, true/false), got {raw!r}")


def _choice(*options: str) -> Callable[[str, Any], str]:
    def parse(label: str, raw: Any) -> str:
        value = str(raw).strip().lower()
        if value not in options:
            raise ConfigError(f"{label}: must be one of {', '.join(options)}, got {raw!r}")
        return value

    return parse


def _url(*schemes: str) -> Callable[[str, Any], str]:
    def parse(label: str, raw: Any) -> str:
        value = str(raw).strip()
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not parsed.netloc:
            raise ConfigError(f"{label}: must be a {'/'.join(schemes)} URL, got {raw!r}")
        return value

    return parse


def _optional(parse: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    def parse_optional(label: str, raw: Any) -> Any:
        return None if raw is None or str(raw).strip() == "" else parse(label, raw)

    return parse_optional


def _origins(label: str, raw: Any) -> tuple[str, ...]:
    """Comma-separated browser origins (scheme://host[:port], no path), or a list of them."""
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    origins = []
    for item in (str(item).strip() for item in items):
        if not item:
            continue
        parsed = urlparse(item)
        if parsed.scheme not in ("http", "https") or item != f"{parsed.scheme}://{parsed.netloc}" or not parsed.netloc:
            raise ConfigError(f"{label}: each origin must be http(s)://host[:port] with no path, got {item!r}")
        origins.append(item)
    return tuple(origins)


def _tx_url(label: str, raw: Any) -> str:
    value = _url("http", "https")(label, raw)
    if "{hash}" not in value:
        raise ConfigError(f"{label}: must contain {{hash}} where the transaction hash goes, got {raw!r}")
    return value


def _domain(label: str, raw: Any) -> str:
    value = str(raw).strip().lower()
    if not _DOMAIN.match(value) or len(value) > 59:
        raise ConfigError(f"{label}: must be a host name, optionally with :port, at most 59 characters, "
                          f"got {raw!r}")
    return value


def _path(label: str, raw: Any) -> Path:
    text = str(raw).strip()
    if not text:
        raise ConfigError(f"{label}: must be a directory path, got an empty value")
    return Path(text).expanduser()


@dataclass(frozen=True)
class _Field:
    name: str
    env: str
    parse: Callable[[str, Any], Any]
    default: Any
    doc: str


FIELDS: tuple[_Field, ...] = (
    _Field("network_name", "KALEPOOL_NETWORK", _choice(*NETWORKS), "devnet",
           "network profile: devnet, testnet or mainnet"),
    _Field("rpc_url", "KALEPOOL_RPC_URL", _optional(_url("http", "https")), None,
           "Stellar RPC URL; overrides the network profile's"),
    _Field("database_url", "DATABASE_URL", _optional(_url("postgres", "postgresql")), None,
           "PostgreSQL URL; unset means a private cluster under the state directory"),
    _Field("state_dir", "KALEPOOL_STATE_DIR", _path, "var",
           "directory for local state: private database, devnet, logs, file keyring"),
    _Field("pooler_share_bps", "KALEPOOL_POOLER_SHARE_BPS", _int_in(0, 10_000), 5_000,
           "default pooler share of rewards, in basis points (5000 = 50 %)"),
    _Field("max_farmers_per_pooler", "KALEPOOL_MAX_FARMERS_PER_POOLER", _int_in(1, 100_000), 1_000,
           "default capacity of a pooler"),
    _Field("max_harvest_interval_blocks", "KALEPOOL_MAX_HARVEST_INTERVAL_BLOCKS", _int_in(1, 288), 240,
           "longest harvest interval a farmer may choose; pails live ~288 blocks (24 h)"),
    _Field("default_harvest_interval_blocks", "KALEPOOL_DEFAULT_HARVEST_INTERVAL_BLOCKS", _int_in(1, 288), 12,
           "harvest interval of a farmer who does not choose one"),
    _Field("min_account_xlm_stroops", "KALEPOOL_MIN_ACCOUNT_XLM_STROOPS", _int_in(0, 10**15), 50_000_000,
           "XLM (in stroops) a custodial wallet needs before it can be activated"),
    _Field("plant_fee_reserve_stroops", "KALEPOOL_PLANT_FEE_RESERVE_STROOPS", _int_in(0, 10**12), 1_000_000,
           "XLM (in stroops) a wallet must hold above its reserve to be planted: the fees to plant and harvest"),
    _Field("base_fee_stroops", "KALEPOOL_BASE_FEE_STROOPS", _int_in(100, 10**9), 100,
           "inclusion fee per operation for transactions the pool sends"),
    _Field("tx_timeout_seconds", "KALEPOOL_TX_TIMEOUT_SECONDS", _int_in(10, 3_600), 60,
           "validity window (max time) of every transaction the pool signs"),
    _Field("ttl_guard_ledgers", "KALEPOOL_TTL_GUARD_LEDGERS", _int_in(2, 100_000), 720,
           "harvest (or extend) a pail this many ledgers before it or its block would expire"),
    _Field("job_interval_seconds", "KALEPOOL_JOB_INTERVAL_SECONDS", _float_in(0.05, 3_600), 5.0,
           "how often the scheduler resolves transactions, harvests and settles"),
    _Field("api_rate_limit_per_minute", "KALEPOOL_API_RATE_LIMIT_PER_MINUTE", _int_in(1, 10**7), 6_000,
           "API requests allowed per token and per IP each minute"),
    _Field("api_max_body_bytes", "KALEPOOL_API_MAX_BODY_BYTES", _int_in(256, 10**8), 1_048_576,
           "largest request body the API accepts"),
    _Field("api_header_timeout_seconds", "KALEPOOL_API_HEADER_TIMEOUT_SECONDS", _float_in(1, 300), 10.0,
           "a client must send a request's whole head within this many seconds (else 408)"),
    _Field("api_body_timeout_seconds", "KALEPOOL_API_BODY_TIMEOUT_SECONDS", _float_in(1, 600), 30.0,
           "and its body within this many seconds more (else 408)"),
    _Field("api_trusted_proxy_hops", "KALEPOOL_API_TRUSTED_PROXY_HOPS", _int_in(0, 10), 0,
           "reverse proxies in front of `serve` whose X-Forwarded-For is trusted for the client address"),
    _Field("registration_ttl_seconds", "KALEPOOL_REGISTRATION_TTL_SECONDS", _int_in(60, 30 * 86_400), 86_400,
           "an unfunded registration (never activated) is deleted after this many seconds"),
    _Field("registrations_per_hour", "KALEPOOL_REGISTRATIONS_PER_HOUR", _int_in(1, 10**6), 20,
           "farmer registrations allowed per client address each hour"),
    _Field("allow_file_keyring", "KALEPOOL_ALLOW_FILE_KEYRING", _bool, False,
           "let testnet/mainnet keep the master key in a file keyring"),
    _Field("log_level", "KALEPOOL_LOG_LEVEL", _choice("debug", "info", "warning", "error"), "info",
           "logging level"),
    _Field("cors_origins", "KALEPOOL_CORS_ORIGINS", _origins, (),
           "browser origins (comma-separated) allowed to call the JSON API cross-site; none by default"),
    _Field("explorer_tx_url", "KALEPOOL_EXPLORER_TX_URL", _optional(_tx_url), None,
           "block explorer link for a transaction, with {hash}; unset means the network's default (none on devnet)"),
    _Field("payout_address_change_delay_seconds", "KALEPOOL_PAYOUT_ADDRESS_CHANGE_DELAY_SECONDS",
           _int_in(0, 31_536_000), 259_200,
           "wait before an unsigned payout-address change (old address never on chain) takes effect"),
    _Field("web_auth_domain", "KALEPOOL_WEB_AUTH_DOMAIN", _domain, "localhost",
           "the pool's host name in SEP-10 challenges (home domain and web auth domain)"),
    _Field("fee_sponsor", "KALEPOOL_FEE_SPONSOR", _bool, False,
           "pay custodial wallets' fees from the operator's sponsor account (fee bumps; its secret in "
           "$KALEPOOL_FEE_SPONSOR_SECRET or the keyring entry fee-sponsor); charged to the farmer at settlement"),
    _Field("fee_sponsor_cap_stroops", "KALEPOOL_FEE_SPONSOR_CAP_STROOPS", _int_in(0, 10**15), 10_000_000,
           "most fees (stroops) the sponsor pays for one farmer; past it the wallet pays its own"),
)

CONFIG_FILE_ENV = "KALEPOOL_CONFIG"


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Load and validate settings; `overrides` (field names) win over everything."""
    environ = os.environ if environ is None else environ
    overrides = {name: value for name, value in overrides.items() if value is not None}
    file_values = _read_file(environ.get(CONFIG_FILE_ENV))
    values: dict[str, Any] = {}
    for field in FIELDS:
        if field.name in overrides:
            raw, label = overrides.pop(field.name), field.name
        elif environ.get(field.env) is not None:
            raw, label = environ[field.env], field.env
        elif field.name in file_values:
            raw, label = file_values[field.name], f"{environ[CONFIG_FILE_ENV]}: {field.name}"
        else:
            values[field.name] = field.default
            continue
        values[field.name] = field.parse(label, raw)
    unknown = sorted(set(overrides) | (set(file_values) - {f.name for f in FIELDS}))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    if values["rpc_url"] is None:
        values["rpc_url"] = NETWORKS[values["network_name"]].rpc_url
    if values["default_harvest_interval_blocks"] > values["max_harvest_interval_blocks"]:
        raise ConfigError("KALEPOOL_DEFAULT_HARVEST_INTERVAL_BLOCKS: must not exceed "
                          "KALEPOOL_MAX_HARVEST_INTERVAL_BLOCKS")
    return Settings(**values)


def _read_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{CONFIG_FILE_ENV}: no such file: {path}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{CONFIG_FILE_ENV}: cannot read {path}: {exc}") from None
    return dict(data)

