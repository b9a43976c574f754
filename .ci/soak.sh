#!/usr/bin/env bash
# The soak (docs/reliability.md#soak): release binaries against the ARM emulator with faults for
# MINUTES (default 30; 2 checks that the script works):
#   - live `scan --store` runs in a loop, alternating between an emulator whose faults cost only
#     time (ARM's throttling, a 503 on every 7th request) and one whose faults must become gaps
#     (a forbidden lock list, truncated JSON pages of the route tables);
#   - `serve` scanning on a frequent schedule while wrk calls /v1/vms, /v1/vms/{id}, /v1/scans,
#     /metrics and POST /v1/check at a steady rate;
#   - serve's resident memory and open file descriptors sampled every SOAK_SAMPLE_SECONDS, and
#     each scan's peak resident memory.
# Fails (exit 1) when serve's RSS or fds, or the scans' peak RSS, grow by more than 10% after the
# warm-up (the first 20% of the run), when a scan is neither as complete as the offline scan of
# the fleet (without gaps) nor incomplete with gaps,
# when a scan's VM count differs from the fleet's, when serve's scheduled scan fails, or when an
# API call fails. The summary goes to stdout and to $SOAK_DIR/summary.md.
#
# Environment: SOAK_DIR (default target/soak), SOAK_CRON (serve's schedule, default every
# minute), SOAK_SAMPLE_SECONDS (5), SOAK_DELAY_MS (pause between one wrk connection's requests,
# 50), SOAK_EMULATOR_FLAGS (extra arm-emulator flags for both emulators, e.g. fault flags the
# emulator gains later; see `arm-emulator --help`), SOAK_QUICK_BUILD (below).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

minutes=${1:-30}
if ! [[ $minutes =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bash .ci/soak.sh [MINUTES]   (a whole number of minutes, at least 1; default 30)" >&2
  exit 2
fi
dir=${SOAK_DIR:-$root/target/soak}
cron=${SOAK_CRON:-"* * * * *"}
sample_seconds=${SOAK_SAMPLE_SECONDS:-5}
delay_ms=${SOAK_DELAY_MS:-50}
read -r -a extra_flags <<<"${SOAK_EMULATOR_FLAGS:-}"
fleet=$root/fixtures/fleets/demo

if ! command -v wrk >/dev/null; then
  echo "== installing wrk"
  as_root=""
  [ "$(id -u)" -eq 0 ] || as_root="sudo"
  $as_root apt-get update -qq
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk
fi
for tool in jq curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is needed (Debian: jq, curl, python3, time)" >&2; exit 2; }
done

# SOAK_QUICK_BUILD=1 builds the generated ARM SDK clients (azure_mgmt_*: a few calls per scan, off
# serve's request path) unoptimised: their optimised build alone takes tens of minutes on a busy
# 2-core machine. The summary says when it was used.
build_flags=()
if [ "${SOAK_QUICK_BUILD:-0}" = 1 ]; then
  for crate in azure_mgmt_network azure_mgmt_resources azure_mgmt_resourcegraph; do
    build_flags+=(--config "profile.release.package.$crate.opt-level=0")
  done
fi
echo "== cargo build --release (backup-doctor, arm-emulator)"
cargo build --release --locked "${build_flags[@]}" -p backup-doctor --bin backup-doctor \
  -p backup-doctor-testkit --bin arm-emulator
bin=$root/target/release/backup-doctor
emulator_bin=$root/target/release/arm-emulator

rm -rf "$dir"
mkdir -p "$dir"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# The emulators' test service principal; the secret reaches them and the binaries through the
# environment only.
client_id=soak-client
secret="soak-secret-$RANDOM$RANDOM"
tenant=$(jq -r .tenantId "$fleet/snapshot.json")

# Starts an arm-emulator with the flags given and sets $url to where it listens.
start_emulator() {
  local name=$1
  shift
  ARM_EMULATOR_CLIENT_SECRET=$secret "$emulator_bin" --snapshot "$fleet" --client-id "$client_id" \
    "$@" "${extra_flags[@]}" >"$dir/emulator-$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    url=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$dir/emulator-$name.log")
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "soak: the $name emulator did not start:" >&2
  cat "$dir/emulator-$name.log" >&2
  exit 2
}
# Faults that must cost time only: ARM's per-subscription read budget and a 503 on every 7th
# request of a subscription, both retried by the collector.
start_emulator retried --page-size 5 --latency-ms 2 --throttle --fail-every 7:503
retried_url=$url
# Faults that must become gaps: a reader without permission on the locks, and truncated pages.
start_emulator gaps --page-size 5 --latency-ms 2 --fail-every 11:500 \
  --forbid /providers/Microsoft.Authorization/locks --malformed /providers/Microsoft.Network/routeTables
gaps_url=$url

live_env=(env -i "PATH=$PATH" "AZURE_TENANT_ID=$tenant" "AZURE_CLIENT_ID=$client_id"
  "AZURE_CLIENT_SECRET=$secret")

# The fleet's VM count, and whether its scan is complete (the demo fleet's is not: some of its facts
# are unknown by design), from the offline scan of the same snapshot. A live scan without gaps
# must match both.
offline=$("$bin" scan --snapshot "$fleet" --format json --fail-on never || true)
expected_vms=$(jq .summary.vms <<<"$offline")
expected_complete=$(jq .complete <<<"$offline")
echo "== the fleet has $expected_vms VMs (offline scan complete: $expected_complete);" \
  "emulators at $retried_url (retried faults), $gaps_url (gaps)"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api=http://127.0.0.1:$port
cat >"$dir/serve.toml" <<TOML
listen = "127.0.0.1:$port"
store = "$dir/serve.sqlite"

[auth]
disabled = true

[open]
metrics = true

[schedule]
cron = "$cron"
time_zone = "UTC"

[live]
auth = "secret"
arm_endpoint = "$retried_url"
graph_endpoint = "$retried_url"
TOML

start=$(date +%s)
end=$((start + minutes * 60))
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
"${live_env[@]}" "AZURE_AUTHORITY_HOST=$retried_url" "$bin" serve --config "$dir/serve.toml" \
  >"$dir/serve.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
echo "== serve (pid $serve_pid) on $api, schedule '$cron'; soak until $(date -u -d "@$end" +%H:%M:%S) UTC"

# Samples serve's resident memory and open file descriptors until the end.
(
  echo -e "t\trss_kb\tfds"
  while [ "$(date +%s)" -lt "$end" ] && [ -d "/proc/$serve_pid" ]; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status" 2>/dev/null || true)
    fds=$(find "/proc/$serve_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    [ -n "$rss" ] && echo -e "$(($(date +%s) - start))\t$rss\t$fds"
    sleep "$sample_seconds"
  done
) >"$dir/serve-samples.tsv" &
sampler=$!
pids+=("$sampler")

for _ in $(seq 300); do
  curl -fsS "$api/healthz" >/dev/null 2>&1 && break
  [ -d "/proc/$serve_pid" ] || { echo "soak: serve exited:" >&2; cat "$dir/serve.log" >&2; exit 2; }
  sleep 1
done
# The API's VM endpoints need a recorded scan: serve's first slot runs at once on a fresh store.
for _ in $(seq 300); do
  [ "$(curl -fsS "$api/v1/scans" 2>/dev/null | jq '.scans | length' 2>/dev/null || echo 0)" -gt 0 ] && break
  [ -d "/proc/$serve_pid" ] || { echo "soak: serve exited:" >&2; cat "$dir/serve.log" >&2; exit 2; }
  sleep 1
done
vm_id=$(curl -fsS "$api/v1/vms?limit=1" | jq -r '.items[0].id')
[ -n "$vm_id" ] && [ "$vm_id" != null ] || { echo "soak: serve recorded no VM" >&2; exit 2; }
vm_path=$(jq -rn --arg id "$vm_id" '$id | @uri')
echo "== first scheduled scan recorded after $(($(date +%s) - start)) s; load on $api"

# Live scans into a store of their own, alternating between the two emulators, until the end.
(
  echo -e "n\temulator\texit\tcomplete\tgaps\tvms\tpeak_rss_kb\tseconds"
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    n=$((n + 1))
    if [ $((n % 2)) -eq 1 ]; then name=retried url=$retried_url; else name=gaps url=$gaps_url; fi
    t0=$(date +%s.%N)
    status=0
    "${live_env[@]}" "AZURE_AUTHORITY_HOST=$url" /usr/bin/time -f %M -o "$dir/scan-rss" \
      "$bin" scan --live --auth secret --arm-endpoint "$url" --graph-endpoint "$url" \
      --store "$dir/scans.sqlite" --format json --fail-on never \
      >"$dir/scan.json" 2>"$dir/scan-$n.err" || status=$?
    seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    complete=$(jq -r '.complete' "$dir/scan.json" 2>/dev/null || echo none)
    gaps=$(jq -r '.gaps | length' "$dir/scan.json" 2>/dev/null || echo none)
    vms=$(jq -r '.summary.vms' "$dir/scan.json" 2>/dev/null || echo none)
    # tail: GNU time writes "Command exited with non-zero status N" before the figure.
    echo -e "$n\t$name\t$status\t$complete\t$gaps\t$vms\t$(tail -n1 "$dir/scan-rss")\t$seconds"
    # A scan's stderr is kept when it failed (exit 0 and 3 are results under --fail-on never).
    if [ "$status" -eq 0 ] || [ "$status" -eq 3 ]; then rm -f "$dir/scan-$n.err"; fi
  done
) >"$dir/scans.tsv" &
loop=$!
pids+=("$loop")

# One wrk per endpoint, so each has its own latency figures; two connections each.
wrk_pids=()
run_wrk() {
  local name=$1 method=$2 path=$3 body=${4:-}
  local seconds=$((end - $(date +%s)))
  [ "$seconds" -ge 1 ] || seconds=1
  SOAK_METHOD=$method SOAK_BODY=$body SOAK_DELAY_MS=$delay_ms SOAK_OUT="$dir/wrk-$name.json" \
    wrk -t1 -c2 -d"${seconds}s" --timeout 30s -s "$root/.ci/soak/endpoint.lua" "$api$path" \
    >"$dir/wrk-$name.log" 2>&1 &
  wrk_pids+=($!)
  pids+=($!)
}
run_wrk vms GET "/v1/vms?limit=50"
run_wrk vm GET "/v1/vms/$vm_path"
run_wrk scans GET "/v1/scans"
run_wrk metrics GET "/metrics"
run_wrk check POST "/v1/check" "$(jq -cn --arg id "$vm_id" '{vms: [$id]}')"

for pid in "${wrk_pids[@]}"; do wait "$pid" || true; done
echo "== load done; waiting for the running scan of the loop"
wait "$loop" || true
wait "$sampler" || true

# Every scan serve recorded, with its gaps from the stored JSON report.
# (A failure here is the report's to judge: serve must still be stopped and the figures written.)
curl -fsS "$api/v1/scans?limit=1000" >"$dir/serve-scans.json" || echo '{"scans": []}' >"$dir/serve-scans.json"
: >"$dir/serve-reports.jsonl"
for id in $(jq -r '.scans[].id' "$dir/serve-scans.json"); do
  curl -fsS "$api/v1/scans/$id?format=json" |
    jq -c --argjson id "$id" '{id: $id, complete, gaps: (.gaps | length), vms: .summary.vms}' \
      >>"$dir/serve-reports.jsonl" || echo "{\"id\": $id, \"complete\": false, \"gaps\": 0, \"vms\": -1}" >>"$dir/serve-reports.jsonl"
done
curl -fsS "$api/metrics" >"$dir/metrics.txt" || : >"$dir/metrics.txt"
kill -TERM "$serve_pid"
wait "$serve_pid" || true

python3 "$root/.ci/soak/report.py" "$dir" "$expected_vms" "$expected_complete" "$minutes" \
  "$load_start $(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)" "${SOAK_QUICK_BUILD:-0}"
