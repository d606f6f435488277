"""The pooler agent: follows KALE blocks, gets its farmers planted, hashes for them with
gpu_miner.search, sends and settles their work, and reports."""
