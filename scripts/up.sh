#!/usr/bin/env bash
# Set everything up, then run the whole pool on this machine (extra arguments go to `manage.py up`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python manage.py up "$@"
