#!/usr/bin/env bash
# The reader role grows a write action.
set -euo pipefail
role="$1/deploy/backup-doctor-reader.json"
sed -i 's|"Microsoft.Compute/virtualMachines/read",|"Microsoft.Compute/virtualMachines/read",\n    "Microsoft.Compute/virtualMachines/write",|' "$role"
grep -q '"Microsoft.Compute/virtualMachines/write"' "$role"
