#!/usr/bin/env bash
# A workflow expression naming a context that does not exist (`var.` for `vars.`): at run time it
# is an error the pull request only meets when the workflow runs.
set -euo pipefail
f="$1/deploy/ci/github/backup-gate-terraform.yml"
sed -i '0,/\${{ vars\.AZURE_CLIENT_ID }}/s//${{ var.AZURE_CLIENT_ID }}/' "$f"
grep -qF '${{ var.AZURE_CLIENT_ID }}' "$f"
