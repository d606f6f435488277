"""Command line for the nonce search: `miner search` prints one JSON result; `bench_miner`
(mounted as `manage.py bench miner`) measures hash rates."""
from __future__ import annotations

import base64
import binascii
import json
from concurrent.futures import ThreadPoolExecutor

import click
from stellar_sdk import StrKey

from gpu_miner.search.searcher import DEVICES, MAX_ZEROS, U32_MAX, U64_MAX, Job, Searcher, open_searcher


class OneLineErrors(click.Command):
    """A command whose usage errors print as one line, "Error: ...", without the usage text."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            error.ctx = None
            raise

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            error.ctx = None
            raise


def parse_entropy(text: str) -> bytes:
    """32 bytes given as 64 hex digits or as base64."""
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("entropy must be 32 bytes as 64 hex digits or base64") from None
    if len(raw) != 32:
        raise ValueError(f"entropy must be 32 bytes, got {len(raw)}")
    return raw


def _open(device: str) -> Searcher:
    try:
        return open_searcher(device)
    except (RuntimeError, ValueError) as error:
        raise click.ClickException(f"{device} device: {error}") from None


@click.group()
def miner() -> None:
    """KALE nonce search on OpenCL devices or the CPU."""


@miner.command(cls=OneLineErrors)
@click.option("--index", required=True, type=click.IntRange(0, U32_MAX),
              help="KALE block index (u32) the hash commits to.")
@click.option("--entropy", required=True,
              help="The block's entropy: 32 bytes as 64 hex digits or base64.")
@click.option("--farmer", required=True,
              help="Farmer address whose key goes into the hash: G... account or C... contract.")
@click.option("--start-nonce", default=0, show_default=True, type=click.IntRange(0, U64_MAX),
              help="First nonce to try; the search goes upwards from here.")
@click.option("--difficulty", type=click.IntRange(1, MAX_ZEROS),
              help="Stop at the first scan that finds a hash with at least this many leading zero hex digits.")
@click.option("--seconds", type=click.FloatRange(0, min_open=True),
              help="Stop after about this many seconds and print the best hash found.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICES),
              help="opencl: best OpenCL device ($KALEPOOL_OPENCL_DEVICE picks one); "
                   "cpu: numba on every core; auto: opencl if any device exists.")
def search(index: int, entropy: str, farmer: str, start_nonce: int, difficulty: int | None,
           seconds: float | None, device: str) -> None:
    """Search for a hash with enough leading zeros and print it as one JSON line.

    Goes up from --start-nonce until a hash has at least --difficulty zeros or
    --seconds pass (give one or both), then prints the best hash seen, verified on
    the host: {"hash": hex, "nonce": int, "zeros": int, "hashes": int, "seconds": float}.
    """
    if difficulty is None and seconds is None:
        raise click.UsageError("give --difficulty, --seconds or both")
    try:
        raw = parse_entropy(entropy)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--entropy'") from None
    try:
        job = Job(index, raw, farmer)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--farmer'") from None
    result = _open(device).search_until(job, difficulty, seconds, start_nonce)
    click.echo(json.dumps({"hash": result.hash.hex(), "nonce": result.nonce, "zeros": result.zeros,
                           "hashes": result.hashes, "seconds": round(result.seconds, 3)}))


@click.command("miner", cls=OneLineErrors)
@click.option("--device", default="auto", show_default=True,
              type=click.Choice(DEVICES + ("all",)),
              help="Device to measure; all: OpenCL and CPU side by side, at the same time.")
@click.option("--seconds", default=10.0, show_default=True, type=click.FloatRange(1),
              help="How long to hash on each device, after a warm-up.")
def bench_miner(device: str, seconds: float) -> None:
    """Measure the sustained KALE hash rate (MH/s) per device and in total."""
    kinds = ("opencl", "cpu") if device == "all" else (device,)
    searchers = [_open(kind) for kind in kinds]
    job = Job(1, bytes(range(32)), StrKey.encode_ed25519_public_key(bytes(range(32))))

    def measure(searcher: Searcher) -> float:
        searcher.search_until(job, seconds=1)  # warm-up: the scan size settles
        result = searcher.search_until(job, seconds=seconds, start_nonce=2**40)
        return result.hashes / result.seconds

    with ThreadPoolExecutor(len(searchers)) as pool:  # devices hash at the same time
        rates = list(pool.map(measure, searchers))
    for searcher, rate in zip(searchers, rates):
        click.echo(f"{searcher.kind}: {searcher.description}: {rate / 1e6:.2f} MH/s")
    click.echo(f"total: {sum(rates) / 1e6:.2f} MH/s")

