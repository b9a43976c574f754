#!/usr/bin/env bash
# The PostgreSQL store URL gets a password instead of an Entra token (a server with password
# authentication off refuses it; a password in a template is a secret in the deployment history).
set -euo pipefail
module="$1/deploy/azure/modules/container-apps.bicep"
sed -i 's|postgres://${identityName}@|postgres://${identityName}:${postgresDatabase}@|' "$module"
grep -q 'postgres://${identityName}:' "$module"
