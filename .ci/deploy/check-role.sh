#!/usr/bin/env bash
# The custom reader role: exactly the RBAC actions the live collector needs, both ways. No
# validator knows what our collector reads, so the check is tests/deploy_role.rs: it drives every
# live read path against the ARM emulator and compares the actions of the requests it logged with
# ROOT's role file (a real tenant alone proves ARM authorizes each request by those actions).
set -euo pipefail
root="$(cd "$1" && pwd)"; covered="$2"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
role="$root/deploy/backup-doctor-reader.json"
[ -f "$role" ] || { echo "$role is missing" >&2; exit 1; }
(cd "$repo" && BACKUP_DOCTOR_READER_ROLE="$role" cargo test --locked --quiet --test deploy_role)
printf '%s\n' deploy/backup-doctor-reader.json >>"$covered"
