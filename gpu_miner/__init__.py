"""Nonce search (gpu_miner/search) and the pooler agent (gpu_miner/agent); imports only config and chain."""
