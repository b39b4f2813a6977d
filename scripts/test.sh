#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the whole test suite in the project's virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${VIRTUAL_ENV:-$PWD/.venv}/bin/python" -m pytest -q -p no:cacheprovider "$@"
