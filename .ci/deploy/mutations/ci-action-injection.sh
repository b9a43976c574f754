#!/usr/bin/env bash
# An input pasted into the action's script by an expression instead of passed through env:
# a plan path holding `$(…)` would run as code.
set -euo pipefail
f="$1/deploy/github-action/action.yml"
sed -i 's/args+=(--plan "\$PLAN")/args+=(--plan "${{ inputs.plan }}")/' "$f"
grep -qF -- '--plan "${{ inputs.plan }}"' "$f"
