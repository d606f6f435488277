"""Nonce search: the KALE hash on OpenCL devices (kernel.cl) or the CPU (numba), behind one
Searcher, and the `miner` command."""
