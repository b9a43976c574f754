#!/usr/bin/env bash
# A role granting more than the collector reads: an action no request needs (a subnet read; the
# subnets arrive inside their virtual networks).
set -euo pipefail
sed -i 's#"Microsoft.Network/virtualNetworks/read",#&\n    "Microsoft.Network/virtualNetworks/subnets/read",#' "$1/deploy/backup-doctor-reader.json"
grep -q 'subnets/read' "$1/deploy/backup-doctor-reader.json"
