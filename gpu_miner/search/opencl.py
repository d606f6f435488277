"""Nonce search on an OpenCL device with kernel.cl: device choice, build, launch geometry.

Measured on the 2-core AVX-512 CI machine, Debian pocl 3.1, best of 6 launches of
4M nonces (the machine is shared and noisy; medians run 5-40 % lower):
VW=8 local 1-8: 40.8 MH/s (chosen) | local 16: 39.9 | local 32: 39.1 | local 64: 35.0
VW=16: 33.2 | VW=4: 38.0 | VW=2: 19.5 | VW=1 (pocl vectorises across work-items): 37-38.
POCL_WORK_GROUP_METHOD (loops, loopvec, cbs) made no difference at VW=8, and pocl
already runs one thread per core, so no pocl variable is set. Few large groups lost
~10 % to load imbalance, hence many groups per compute unit.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pyopencl as cl

from gpu_miner.search.searcher import MAX_SCAN, Searcher

KERNEL = Path(__file__).with_name("kernel.cl")
ENV_DEVICE = "KALEPOOL_OPENCL_DEVICE"
GPU_LOCAL_SIZE = 256  # one nonce per work-item, reduced in local memory per group
CPU_LOCAL_SIZE = 8  # each work-item is already VW nonces wide; pocl loops over the group
GROUPS_PER_UNIT = 256  # many small groups balance the load (16 per unit lost ~10 % on pocl)
MAX_ITERS = 1024  # nonce steps per work-item, so a launch never runs away


def opencl_devices() -> list[cl.Device]:
    """Every device on every OpenCL platform; empty when no platform is installed."""
    try:
        platforms = cl.get_platforms()
    except cl.Error:
        return []
    devices = []
    for platform in platforms:
        try:
            devices += platform.get_devices()
        except cl.Error:  # a platform with no devices
            continue
    return devices


def pick_device(choice: str | None = None) -> cl.Device:
    """The device to mine on: `choice` or $KALEPOOL_OPENCL_DEVICE if set ("P:D" platform and
    device indices, or part of "platform / device" name), else a GPU, else the CPU device
    with the widest vectors (Debian's pocl targets AVX-512 here, PyPI's only AVX2)."""
    choice = choice or os.environ.get(ENV_DEVICE) or None
    if choice is None:
        devices = opencl_devices()
        if not devices:
            raise RuntimeError("no OpenCL device found")
        return max(devices, key=lambda d: (bool(d.type & cl.device_type.GPU),
                                           bool(d.type & cl.device_type.CPU),
                                           d.native_vector_width_long, d.max_compute_units))
    indices = re.fullmatch(r"(\d+):(\d+)", choice)
    if indices:
        try:
            return cl.get_platforms()[int(indices[1])].get_devices()[int(indices[2])]
        except (IndexError, cl.Error):
            raise ValueError(f"OpenCL device {choice!r}: no such platform:device") from None
    for device in opencl_devices():
        if choice.lower() in _name(device).lower():
            return device
    raise ValueError(f"OpenCL device {choice!r} matches none of: "
                     + "; ".join(_name(d) for d in opencl_devices()))


class OpenCLSearcher(Searcher):
    """Scans nonces with kernel.cl on one OpenCL device, several farmers per launch."""

    kind = "opencl"

    def __init__(self, device: str | None = None, vector_width: int | None = None) -> None:
        """Build for `device` (see pick_device), VW = 1 on GPUs, the native long width on CPUs."""
        super().__init__()
        dev = pick_device(device)
        gpu = bool(dev.type & cl.device_type.GPU)
        self.vector_width = vector_width or (1 if gpu else dev.native_vector_width_long)
        if self.vector_width not in (1, 2, 4, 8, 16):
            raise ValueError(f"vector_width must be 1, 2, 4, 8 or 16, got {self.vector_width}")
        self._context = cl.Context([dev])
        self._queue = cl.CommandQueue(self._context)
        program = cl.Program(self._context, KERNEL.read_text())
        self._kernel = program.build(options=[f"-D VW={self.vector_width}"]).kale_search
        fits = self._kernel.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE, dev)
        wanted = min(GPU_LOCAL_SIZE if gpu else CPU_LOCAL_SIZE, fits)
        self.local_size = 1 << (wanted.bit_length() - 1)  # a power of two: the reduction halves it
        self.description = f"{_name(dev)} (VW={self.vector_width}, local size {self.local_size})"
        self._groups = dev.max_compute_units * GROUPS_PER_UNIT
        self._out = np.empty(0, np.uint64)
        self._out_buffer: cl.Buffer | None = None
        self._scan(np.zeros((1, 25), np.uint64), 0, 1)  # pocl compiles the group function here

    def _scan(self, states: np.ndarray, start: int, count: int) -> np.ndarray:
        assert 1 <= count <= MAX_SCAN
        farmers = len(states)
        per_group = self.local_size * self.vector_width
        iters = min(MAX_ITERS, -(-count // (per_group * self._groups)))
        groups = -(-count // (per_group * iters))
        out = self._output(farmers * groups)
        states_buffer = cl.Buffer(self._context, cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR,
                                  hostbuf=np.ascontiguousarray(states, np.uint64))
        self._kernel(self._queue, (groups * self.local_size, farmers), (self.local_size, 1),
                     states_buffer, np.uint64(start), np.uint32(iters), np.uint32(count),
                     self._out_buffer, cl.LocalMemory(8 * self.local_size))
        cl.enqueue_copy(self._queue, out, self._out_buffer)
        return out.reshape(farmers, groups).max(axis=1)

    def _output(self, size: int) -> np.ndarray:
        """A host array of `size` keys; the device buffer grows as needed and is reused."""
        if self._out_buffer is None or self._out.size < size:
            self._out = np.empty(size, np.uint64)
            self._out_buffer = cl.Buffer(self._context, cl.mem_flags.WRITE_ONLY, self._out.nbytes)
        return self._out[:size]


def _name(device: cl.Device) -> str:
    return f"{device.platform.name.strip()} / {device.name.strip()}"
