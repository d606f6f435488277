"""Run the whole pool on this machine: `manage.py up` (supervisor, live view, demo population) and the benches that start a devnet."""
