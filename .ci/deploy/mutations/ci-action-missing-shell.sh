#!/usr/bin/env bash
# A composite `run:` step without `shell:`, which GitHub refuses when the action loads.
set -euo pipefail
f="$1/deploy/github-action/action.yml"
before="$(grep -c 'shell: bash' "$f")"
# The shell line of the "Build backup-doctor" step (the first one after its name).
sed -i '/- name: Build backup-doctor/,/shell: bash/{/shell: bash/d}' "$f"
[ "$(grep -c 'shell: bash' "$f")" -eq $((before - 1)) ]
