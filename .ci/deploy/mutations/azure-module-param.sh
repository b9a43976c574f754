#!/usr/bin/env bash
# A module gains a required parameter that main.bicep does not pass (what `bicep build` refuses).
set -euo pipefail
module="$1/deploy/azure/modules/identity.bicep"
sed -i 's/^param name string$/param name string\nparam tags object/' "$module"
grep -q '^param tags object$' "$module"
