"""Run the whole pool on this machine: `manage.py up` and the benches that start a devnet."""
