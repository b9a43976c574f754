#!/bin/sh
# Starts backup-doctor with the PostgreSQL store signed in as the container's managed identity.
# The server takes Microsoft Entra tokens only (password authentication is off), and the binary
# takes the store's password from its URL, so the password is an access token for Azure Database
# for PostgreSQL, fetched from the Container Apps identity endpoint at start. A token lasts hours:
# enough for a scan; serve opens new connections with it until it expires (docs/deploy/azure.md).
# Arguments: the backup-doctor command line; `serve` reads the store from BACKUP_DOCTOR_STORE,
# other commands get `--store URL` appended.
set -eu

for name in IDENTITY_ENDPOINT IDENTITY_HEADER AZURE_CLIENT_ID PG_HOST PG_DATABASE PG_USER; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "with-postgres-token: $name is not set: run this as a Container App or job with the user-assigned identity and the PG_* variables of deploy/azure/modules/container-apps.bicep" >&2
    exit 2
  fi
done

# The token goes only to the identity endpoint Container Apps sets, never to a log.
response=$(curl --fail --silent --show-error --max-time 30 \
  --header "X-IDENTITY-HEADER: $IDENTITY_HEADER" \
  "$IDENTITY_ENDPOINT?api-version=2019-08-01&resource=https%3A%2F%2Fossrdbms-aad.database.windows.net&client_id=$AZURE_CLIENT_ID") || {
  echo "with-postgres-token: the identity endpoint refused a token for Azure Database for PostgreSQL: check that the identity $AZURE_CLIENT_ID is attached to this app or job" >&2
  exit 2
}
# A JWT is base64url and dots, so the field ends at the next quote.
token=$(printf '%s' "$response" | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
if [ -z "$token" ]; then
  echo "with-postgres-token: the identity endpoint's answer holds no access_token" >&2
  exit 2
fi

BACKUP_DOCTOR_STORE="postgres://$PG_USER:$token@$PG_HOST:5432/$PG_DATABASE?sslmode=verify-full"
export BACKUP_DOCTOR_STORE
if [ "${1:-}" = serve ]; then
  exec /usr/local/bin/backup-doctor "$@"
fi
exec /usr/local/bin/backup-doctor "$@" --store "$BACKUP_DOCTOR_STORE"
