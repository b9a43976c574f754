#!/usr/bin/env bash
# The serve pod runs as root.
set -euo pipefail
sed -i 's/runAsUser: 10001/runAsUser: 0/; s/runAsNonRoot: true/runAsNonRoot: false/' \
  "$1/deploy/kubernetes/deployment-serve.yaml"
grep -q 'runAsUser: 0' "$1/deploy/kubernetes/deployment-serve.yaml"
