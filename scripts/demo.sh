#!/usr/bin/env bash
# Set up, then de-identify the bundled sample data with the HIPAA Safe Harbor policy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PATH="${VIRTUAL_ENV:-$PWD/.venv}/bin:$PATH"  # the deid that setup.sh installed
OUT="${1:-/tmp/deidengine-demo/out}"
SECRET="${DEID_SECRET_FILE:-$HOME/.config/deidengine/demo.secret}"
mkdir -p "$(dirname "$SECRET")"
[ -f "$SECRET" ] || deid keygen --out "$SECRET"
# The demo's own output from an earlier run (its manifest records the policy that made it).
rm -rf "$OUT" "$OUT.quarantine" "$OUT.audit" "$OUT.manifest.sqlite" "$OUT.manifest.sqlite.lock"
deid policy check hipaa-safe-harbor
deid run --policy hipaa-safe-harbor --secret-file "$SECRET" samples/in "$OUT"
deid verify --policy hipaa-safe-harbor --original samples/in --secret-file "$SECRET" "$OUT"
echo "de-identified files:"
find "$OUT" -name '*.dcm' | sort
