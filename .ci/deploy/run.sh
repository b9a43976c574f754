#!/usr/bin/env bash
# Checks every file under deploy/ with the validators its kind has, offline, and proves each check
# can fail. Three parts:
#   1. check-<area>.sh ROOT COVERED validates the deploy/ tree under ROOT and appends each file it
#      validated to COVERED; a non-zero exit is a failed check.
#   2. Coverage: every file tracked under deploy/ must be named by some check, so a new file
#      without a validator turns CI red.
#   3. Self-test: each mutations/<area>-<what>.sh breaks a copy of the tree in one known way (a
#      Dockerfile that runs as root, a broken manifest, a malformed workbook, …); check-<area>.sh
#      must then fail, or the check is one that cannot fail.
# The validators come from PyPI into a virtual environment of their own: checkov pins versions of
# shared packages (packaging, …) that schemathesis, installed later by .ci/run, would move.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

venv="${BACKUP_DOCTOR_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/backup-doctor/deploy-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
export PATH="$venv/bin:$PATH"

covered="$(mktemp)"
scratch="$(mktemp -d)"
trap 'rm -rf "$covered" "$scratch"' EXIT

failed=0
for check in "$here"/check-*.sh; do
  area="$(basename "$check" .sh)"; area="${area#check-}"
  echo "== deploy check: $area"
  if ! bash "$check" "$repo" "$covered"; then
    echo "!! deploy check '$area' failed on the repository's deploy/ tree" >&2
    failed=1
  fi
done

echo "== deploy coverage: every file under deploy/ has a check"
uncovered=0
while IFS= read -r file; do
  if ! grep -qxF "$file" "$covered"; then
    echo "!! $file is validated by no .ci/deploy/check-*.sh: add it to the check of its kind" >&2
    uncovered=1
  fi
done < <(cd "$repo" && git ls-files deploy | sort)
[ "$uncovered" -eq 0 ] || failed=1

echo "== deploy self-test: each known breakage turns its check red"
for mutation in "$here"/mutations/*.sh; do
  name="$(basename "$mutation" .sh)"
  area="${name%%-*}"
  copy="$scratch/$name"
  mkdir -p "$copy"
  (cd "$repo" && git ls-files deploy | tar -cf - -T -) | tar -xf - -C "$copy"
  bash "$mutation" "$copy"
  if bash "$here/check-$area.sh" "$copy" /dev/null >"$scratch/$name.log" 2>&1; then
    echo "!! mutation '$name' was not caught by check-$area.sh: the check cannot fail on it" >&2
    failed=1
  else
    echo "   caught: $name"
  fi
done

exit "$failed"
