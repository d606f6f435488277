"""The Flask JSON API for farmers, poolers and auditors."""

__version__ = "0.1.0"
