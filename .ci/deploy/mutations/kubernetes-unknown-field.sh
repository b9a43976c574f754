#!/usr/bin/env bash
# A misspelt field (terminationGracePeriodSecond), which only strict schema validation refuses.
set -euo pipefail
sed -i 's/terminationGracePeriodSeconds:/terminationGracePeriodSecond:/' "$1/deploy/kubernetes/deployment-serve.yaml"
grep -q 'terminationGracePeriodSecond:' "$1/deploy/kubernetes/deployment-serve.yaml"
