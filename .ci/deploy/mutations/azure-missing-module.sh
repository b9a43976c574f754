#!/usr/bin/env bash
# main.bicep names a module file that does not exist (renamed or never added).
set -euo pipefail
main="$1/deploy/azure/main.bicep"
sed -i "s|'modules/identity.bicep'|'modules/managed-identity.bicep'|" "$main"
grep -q "'modules/managed-identity.bicep'" "$main"
