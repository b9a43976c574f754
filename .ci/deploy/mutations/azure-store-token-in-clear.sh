#!/usr/bin/env bash
# The PostgreSQL store URL stops checking the server's certificate (sslmode=require): a server
# impersonated on the path would receive the access token.
set -euo pipefail
module="$1/deploy/azure/modules/container-apps.bicep"
sed -i 's|sslmode=verify-full&azure_auth|sslmode=require\&azure_auth|' "$module"
grep -q 'sslmode=require&azure_auth' "$module"
