#!/usr/bin/env bash
# The SARIF upload by a movable tag instead of a commit.
set -euo pipefail
f="$1/deploy/github-action/action.yml"
sed -i 's#github/codeql-action/upload-sarif@[0-9a-f]\{40\}.*#github/codeql-action/upload-sarif@v4#' "$f"
grep -q 'upload-sarif@v4$' "$f"
