"""The nonce search (gpu_miner): every device finds exactly the host's best nonce.

The oracle is chain.kale, hashing every nonce of a small range on the host. OpenCL
tests run on whatever platform exists (pocl on CPU in CI) and skip only without one.
"""
import base64
import json
import random
import time

import numpy as np
import pyopencl as cl
import pytest
from click.testing import CliRunner
from stellar_sdk import StrKey

from chain import kale
from gpu_miner.search import opencl
from gpu_miner.search.cli import bench_miner, miner
from gpu_miner.search.cpu import CpuSearcher, hash_zeros
from gpu_miner.search.opencl import KERNEL, OpenCLSearcher, opencl_devices, pick_device
from gpu_miner.search.searcher import Job, open_searcher

needs_opencl = pytest.mark.skipif(not opencl_devices(), reason="no OpenCL platform")
RNG = random.Random(20240601)
ENTROPY = bytes(RNG.randrange(256) for _ in range(32))
G_FARMERS = [StrKey.encode_ed25519_public_key(RNG.randbytes(32)) for _ in range(2)]
C_FARMERS = [StrKey.encode_contract(RNG.randbytes(32)) for _ in range(2)]
JOBS = [Job(61_234, ENTROPY, farmer) for farmer in G_FARMERS + C_FARMERS]


def host_best(job: Job, start: int, count: int) -> tuple[int, int]:
    """(zeros, nonce) of the most zeros, lowest nonce first, hashing every nonce on the host."""
    zeros, negated = max((kale.count_zeros(kale.kale_hash(job.index, n, job.entropy, job.farmer)), -n)
                         for n in range(start, start + count))
    return zeros, -negated


def found(results) -> list[tuple[int, int]]:
    return [(r.zeros, r.nonce) for r in results]


@pytest.fixture(scope="module")
def cpu():
    return CpuSearcher()


@pytest.fixture(scope="module")
def opencl_vw8():
    return OpenCLSearcher(vector_width=8)


@pytest.fixture(scope="module")
def opencl_vw1():
    return OpenCLSearcher(vector_width=1)


@pytest.fixture(params=["cpu", pytest.param("opencl_vw8", marks=needs_opencl),
                        pytest.param("opencl_vw1", marks=needs_opencl)])
def searcher(request):
    """Each backend: numba, OpenCL as tuned for SIMD CPUs (VW=8) and for GPUs (VW=1)."""
    return request.getfixturevalue(request.param)


def test_job_state_is_the_padded_preimage_as_little_endian_lanes():
    job = JOBS[0]
    block = bytearray(200)
    block[:76] = kale.preimage(job.index, 0, job.entropy, job.farmer)
    block[76], block[135] = 0x01, 0x80
    assert job.state().tobytes() == bytes(block)
    assert job.state().dtype == np.uint64


def test_nonce_lands_byte_swapped_in_lanes_0_and_1():
    job, nonce = JOBS[0], 0x0102030405060708
    lanes = np.frombuffer(kale.preimage(job.index, nonce, job.entropy, job.farmer)[:16], "<u8")
    swapped = int.from_bytes(nonce.to_bytes(8, "little"), "big")
    state = job.state()
    assert int(lanes[0]) == int(state[0]) | (swapped << 32) & (2**64 - 1)
    assert int(lanes[1]) == int(state[1]) | swapped >> 32


def test_finds_the_hosts_best_nonce_for_g_and_c_farmers_in_one_search(searcher):
    results = searcher.search(JOBS, 1_000, 1_500)
    assert found(results) == [host_best(job, 1_000, 1_500) for job in JOBS]
    for job, result in zip(JOBS, results):
        assert result.hash == kale.kale_hash(job.index, result.nonce, job.entropy, job.farmer)
        assert result.hashes == 1_500


def test_equal_zeros_go_to_the_lowest_nonce(searcher):
    job, start, count = JOBS[1], 0, 600
    best_zeros, best_nonce = host_best(job, start, count)
    ties = [n for n in range(start, start + count) if kale.count_zeros(
        kale.kale_hash(job.index, n, job.entropy, job.farmer)) == best_zeros]
    assert len(ties) > 1 and ties[0] == best_nonce  # the range really has a tie
    assert found(searcher.search([job], start, count)) == [(best_zeros, best_nonce)]


@pytest.mark.parametrize("start, count", [(2**32 - 700, 1_400), (2**33 - 3, 900),
                                          (2**63 - 500, 1_000), (2**64 - 1_000, 1_000)])
def test_ranges_crossing_32_bit_boundaries_and_ending_at_the_last_nonce(searcher, start, count):
    jobs = [JOBS[0], JOBS[3]]
    assert found(searcher.search(jobs, start, count)) == [host_best(j, start, count) for j in jobs]


def test_best_survives_a_range_split_into_many_scans():
    class TinyScans(CpuSearcher):
        def _scan_size(self, farmers: int) -> int:
            return 97

    job, start, count = JOBS[2], 5_000, 1_200
    assert found(TinyScans().search([job], start, count)) == [host_best(job, start, count)]


@needs_opencl
def test_cpu_fallback_and_opencl_agree_on_a_large_range(cpu, opencl_vw8, opencl_vw1):
    start, count = 2**32 - 2**20, 2**21
    expected = found(cpu.search(JOBS, start, count))
    assert found(opencl_vw8.search(JOBS, start, count)) == expected
    assert found(opencl_vw1.search(JOBS, start, count)) == expected


CRAFTED_HASHES = [bytes(32), bytes(31) + b"\x01", bytes(8) + b"\x0f" + bytes(23),
                  bytes(15) + b"\x10" + bytes(16), bytes(23) + b"\x01" + b"\xff" * 8,
                  b"\x00\x0f" + b"\xff" * 30, b"\x10" + bytes(31), b"\xff" * 32]


def test_cpu_counts_zeros_across_all_four_hash_lanes():
    for digest in CRAFTED_HASHES:
        lanes = [np.uint64(x) for x in np.frombuffer(digest, "<u8")]
        assert hash_zeros(*lanes) == kale.count_zeros(digest), digest.hex()


@needs_opencl
@pytest.mark.parametrize("vw", [1, 8])
def test_kernel_counts_zeros_across_all_four_hash_lanes(vw):
    device = pick_device()
    context = cl.Context([device])
    queue = cl.CommandQueue(context)
    probe = KERNEL.read_text() + """
    __kernel void zeros_of(__global const ulong *h, __global ulong *out) {
        const size_t i = 4 * get_global_id(0);
        out[get_global_id(0)] = HMAX(hash_zeros((V)h[i], (V)h[i + 1], (V)h[i + 2], (V)h[i + 3]));
    }"""
    kernel = cl.Program(context, probe).build(options=[f"-D VW={vw}"]).zeros_of
    lanes = np.frombuffer(b"".join(CRAFTED_HASHES), "<u8")
    hashes = cl.Buffer(context, cl.mem_flags.COPY_HOST_PTR, hostbuf=lanes)
    out = np.zeros(len(CRAFTED_HASHES), np.uint64)
    out_buffer = cl.Buffer(context, cl.mem_flags.WRITE_ONLY, out.nbytes)
    kernel(queue, (len(CRAFTED_HASHES),), None, hashes, out_buffer)
    cl.enqueue_copy(queue, out, out_buffer)
    assert out.tolist() == [kale.count_zeros(digest) for digest in CRAFTED_HASHES]


def test_search_until_stops_at_the_first_scan_reaching_the_difficulty(cpu):
    result = cpu.search_until(JOBS[0], difficulty=4, start_nonce=2**40)
    assert result.zeros >= 4 and result.nonce >= 2**40
    assert result.hash == kale.kale_hash(JOBS[0].index, result.nonce, ENTROPY, JOBS[0].farmer)
    assert result.hashes > result.nonce - 2**40


def test_search_until_keeps_the_best_hash_when_time_runs_out(cpu):
    began = time.perf_counter()
    result = cpu.search_until(JOBS[3], seconds=0.5)
    assert 0.5 <= time.perf_counter() - began < 1.5
    assert result.zeros == kale.count_zeros(result.hash) >= 4
    assert result.hash == kale.kale_hash(JOBS[3].index, result.nonce, ENTROPY, JOBS[3].farmer)


@pytest.mark.parametrize("make, name", [
    (lambda: Job(-1, ENTROPY, G_FARMERS[0]), "index"),
    (lambda: Job(2**32, ENTROPY, G_FARMERS[0]), "index"),
    (lambda: Job(1, ENTROPY[:31], G_FARMERS[0]), "entropy"),
    (lambda: Job(1, ENTROPY.hex(), G_FARMERS[0]), "entropy"),
    (lambda: Job(1, ENTROPY, "GBADADDRESS"), "farmer"),
    (lambda: Job(1, ENTROPY, "SA" + G_FARMERS[0][2:]), "farmer"),
])
def test_bad_jobs_are_refused_naming_the_argument(make, name):
    with pytest.raises(ValueError, match=name):
        make()


@pytest.mark.parametrize("call, name", [
    (lambda s: s.search(JOBS, -1, 10), "start_nonce"),
    (lambda s: s.search(JOBS, 2**64, 10), "start_nonce"),
    (lambda s: s.search(JOBS, 0, 0), "count"),
    (lambda s: s.search(JOBS, 2**64 - 5, 6), "count"),
    (lambda s: s.search([], 0, 10), "jobs"),
    (lambda s: s.search([(1, ENTROPY, G_FARMERS[0])], 0, 10), "jobs"),
    (lambda s: s.search_until(JOBS[0], difficulty=0), "difficulty"),
    (lambda s: s.search_until(JOBS[0], difficulty=65), "difficulty"),
    (lambda s: s.search_until(JOBS[0], seconds=0), "seconds"),
    (lambda s: s.search_until(JOBS[0]), "difficulty, seconds"),
])
def test_bad_search_arguments_are_refused_naming_the_argument(cpu, call, name):
    with pytest.raises(ValueError, match=name):
        call(cpu)


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device"):
        open_searcher("gpu")


def test_auto_falls_back_to_the_cpu_without_opencl(monkeypatch):
    monkeypatch.setattr(opencl, "opencl_devices", lambda: [])
    assert open_searcher("auto").kind == "cpu"


@needs_opencl
def test_auto_prefers_opencl_when_a_device_exists():
    assert open_searcher("auto").kind == "opencl"


@needs_opencl
def test_opencl_device_is_picked_by_environment_index_or_name(monkeypatch):
    device = cl.get_platforms()[0].get_devices()[0]
    monkeypatch.setenv("KALEPOOL_OPENCL_DEVICE", "0:0")
    assert pick_device() == device
    assert pick_device(device.name[:6]) == device
    with pytest.raises(ValueError, match="no such"):
        pick_device("9:9")
    with pytest.raises(ValueError, match="matches none"):
        pick_device("no device is called this")


def run_cli(*args: str):
    return CliRunner(mix_stderr=False).invoke(miner, list(args))


def test_search_command_prints_one_json_line_with_a_verified_hash():
    result = run_cli("search", "--index", "7", "--entropy", ENTROPY.hex(), "--farmer",
                     C_FARMERS[0], "--start-nonce", str(2**32 - 10), "--difficulty", "3")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert set(out) == {"hash", "nonce", "zeros", "hashes", "seconds"}
    assert bytes.fromhex(out["hash"]) == kale.kale_hash(7, out["nonce"], ENTROPY, C_FARMERS[0])
    assert out["zeros"] >= 3 and out["nonce"] >= 2**32 - 10 and out["hashes"] > 0


def test_search_command_takes_entropy_as_hex_or_base64():
    common = ["--index", "7", "--farmer", G_FARMERS[1], "--difficulty", "2", "--device", "cpu"]
    outputs = [run_cli("search", "--entropy", entropy, *common)
               for entropy in (ENTROPY.hex(), base64.b64encode(ENTROPY).decode())]
    assert [o.exit_code for o in outputs] == [0, 0]
    assert len({json.loads(o.stdout)["nonce"] for o in outputs}) == 1


@pytest.mark.parametrize("args, mentions", [
    (["--entropy", "abcd"], "--entropy"),
    (["--entropy", ENTROPY.hex()[:-2] + "zz"], "--entropy"),
    (["--farmer", "GBADADDRESS"], "--farmer"),
    (["--index", "-1"], "--index"),
    (["--start-nonce", str(2**64)], "--start-nonce"),
    (["--difficulty", "0"], "--difficulty"),
    (["--device", "gpu"], "--device"),
    (["--difficulty", None], "--difficulty, --seconds"),
])
def test_search_command_reports_bad_input_in_one_line_with_exit_code_2(args, mentions):
    options = {"--index": "1", "--entropy": ENTROPY.hex(), "--farmer": G_FARMERS[0],
               "--difficulty": "2"}
    options.update(zip(args[::2], args[1::2]))
    argv = [part for option, value in options.items() if value is not None
            for part in (option, value)]
    result = run_cli("search", *argv)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("Error:") and mentions in result.stderr


def test_bench_miner_prints_the_rate_per_device_and_in_total():
    result = CliRunner(mix_stderr=False).invoke(bench_miner, ["--device", "cpu", "--seconds", "1"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("cpu: numba") and lines[0].endswith("MH/s")
    assert lines[-1].startswith("total: ") and lines[-1].endswith("MH/s")
