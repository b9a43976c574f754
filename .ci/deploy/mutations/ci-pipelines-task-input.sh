#!/usr/bin/env bash
# A task input misspelt (the service ignores unknown inputs; here the test results would be
# searched under the default pattern and the findings never published).
set -euo pipefail
f="$1/deploy/ci/azure-pipelines/backup-gate.yml"
sed -i 's/testResultsFiles:/testResultFiles:/' "$f"
grep -q 'testResultFiles:' "$f"
