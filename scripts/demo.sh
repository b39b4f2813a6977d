#!/usr/bin/env bash
# Set up, then show the policy engine on the shipped policies.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
deid policy check annex-e/basic hipaa-safe-harbor research-longitudinal
deid policy explain hipaa-safe-harbor --tag PatientBirthDate
