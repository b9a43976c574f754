#!/usr/bin/env bash
# The SQLite component's patch names a CronJob that does not exist, so the store swap would be
# lost (kustomize itself refuses this too; the render must as well).
set -euo pipefail
sed -i 's/name: backup-doctor-scan/name: backup-doctor-nightly/' \
  "$1/deploy/kubernetes/components/sqlite/cronjob-store.yaml"
grep -q 'name: backup-doctor-nightly' "$1/deploy/kubernetes/components/sqlite/cronjob-store.yaml"
