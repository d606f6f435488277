"""Stellar and KALE knowledge that holds without a database."""
