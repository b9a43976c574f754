#!/usr/bin/env bash
# A role without an action the collector needs (a key vault's key list).
set -euo pipefail
sed -i '/"Microsoft.KeyVault\/vaults\/keys\/read",/d' "$1/deploy/backup-doctor-reader.json"
! grep -q "vaults/keys/read" "$1/deploy/backup-doctor-reader.json"
