#!/usr/bin/env bash
# The kustomization lists a file that is not there.
set -euo pipefail
rm "$1/deploy/kubernetes/networkpolicy.yaml"
grep -q -- '- networkpolicy.yaml' "$1/deploy/kubernetes/kustomization.yaml"
