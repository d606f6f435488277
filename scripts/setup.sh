#!/usr/bin/env bash
# Install everything kalepool needs on a Debian machine: system packages
# (PostgreSQL server, pocl OpenCL runtime) and a virtualenv in .venv with the
# pinned requirements. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
# chromium + chromium-driver: the web app's browser tests (headless, driven by selenium)
for pkg in postgresql pocl-opencl-icd ocl-icd-libopencl1 chromium chromium-driver fonts-dejavu-core; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
    missing+=("python3-venv")
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating virtualenv .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "setup: installing Python packages from requirements.txt"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r requirements.txt
    echo "$wanted" > "$stamp"
fi

# The JS SDK the devnet checks drive (tests/test_devnet_js.py), pinned by tests/js/package-lock.json.
if command -v npm >/dev/null 2>&1; then
    js_stamp=tests/js/node_modules/.lock.sha256
    js_wanted="$(sha256sum tests/js/package-lock.json | cut -d' ' -f1)"
    if [ "$(cat "$js_stamp" 2>/dev/null)" != "$js_wanted" ]; then
        echo "setup: installing the JS SDK into tests/js/node_modules"
        if npm ci --prefix tests/js --no-audit --no-fund --silent; then
            echo "$js_wanted" > "$js_stamp"
        else
            echo "setup: npm ci failed; tests/test_devnet_js.py will be skipped"
        fi
    fi
else
    echo "setup: npm not found; tests/test_devnet_js.py will be skipped (install Node.js 20+ to run it)"
fi
