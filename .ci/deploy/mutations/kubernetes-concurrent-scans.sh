#!/usr/bin/env bash
# The nightly CronJob lets a second scan start while one runs.
set -euo pipefail
sed -i 's/concurrencyPolicy: Forbid/concurrencyPolicy: Allow/' "$1/deploy/kubernetes/cronjob-scan.yaml"
grep -q 'concurrencyPolicy: Allow' "$1/deploy/kubernetes/cronjob-scan.yaml"
