"""Nonce search (OpenCL kernel, CPU fallback) and the pooler agent."""
