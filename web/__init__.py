"""The Flask JSON API for farmers, poolers and auditors."""
