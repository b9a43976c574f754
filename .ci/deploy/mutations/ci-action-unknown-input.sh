#!/usr/bin/env bash
# A workflow passing the action an input it does not have (a misspelling is silently ignored by
# GitHub, so the live baseline would never be read).
set -euo pipefail
f="$1/deploy/ci/github/backup-gate-terraform.yml"
sed -i 's/^\( *\)live-baseline: "true"/\1live_baseline: "true"/' "$f"
grep -q 'live_baseline: "true"' "$f"
