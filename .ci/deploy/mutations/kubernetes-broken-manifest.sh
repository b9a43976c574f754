#!/usr/bin/env bash
# A field of the wrong type: the Service's clusterIPs as a string instead of a list, which only
# the schema knows.
set -euo pipefail
sed -i 's/^  type: ClusterIP$/  type: ClusterIP\n  clusterIPs: 10.0.0.10/' "$1/deploy/kubernetes/service-serve.yaml"
grep -q '^  clusterIPs: 10.0.0.10$' "$1/deploy/kubernetes/service-serve.yaml"
