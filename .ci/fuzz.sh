#!/usr/bin/env bash
# The parsers, fuzzed (docs/reliability.md): builds the cargo-fuzz targets of fuzz/ and runs them.
#
#   .ci/fuzz.sh [TARGET…]                CI: every target (or those named) for $FUZZ_SECONDS
#                                        (default 15) from its seeds, then every file of
#                                        fuzz/regressions/<target>/ replayed once (and the
#                                        oversized inputs below with FUZZ_OVERSIZED=1). Exits
#                                        non-zero on any crash, timeout or out-of-memory.
#   .ci/fuzz.sh --long SECONDS [TARGET…] a long run of each TARGET (default: all, one after the
#                                        other) for SECONDS, on the corpus kept in
#                                        fuzz/corpus-long/<target>/ across runs; appends its
#                                        figures to fuzz/long-runs.tsv, then replays the
#                                        regressions and the oversized inputs.
#
# Needs cargo-fuzz (installed here when missing) and the machine's stable toolchain: without a
# sanitizer, cargo-fuzz passes no nightly-only flag. The short mode builds the targets unoptimised
# (about 4 minutes cold on 2 cores, the CI budget); the long mode optimised (about 30 minutes cold
# at one codegen unit, repaid by several times more executions per second). Both into fuzz/target/
# ($FUZZ_TARGET_DIR), where later builds only redo what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(snapshot_file snapshot_tree terraform_plan whatif rule_file suppressions serve_config
  arm_page arm_error bearer_token)
# Each case within this many seconds and this much resident memory, or it is a finding. The
# inputs of a fuzzing run are at most MAX_LEN bytes; the replayed oversized inputs are not.
TIMEOUT=10
RSS_MB=2048
MAX_LEN=131072

dictionary() {
  case "$1" in
    snapshot_file | snapshot_tree | arm_page) echo arm ;;
    terraform_plan) echo terraform ;;
    rule_file) echo rule ;;
    *) echo "$1" ;;
  esac
}

mode=short
seconds=${FUZZ_SECONDS:-15}
if [ "${1:-}" = "--long" ]; then
  mode=long
  seconds=${2:?usage: .ci/fuzz.sh --long SECONDS [TARGET…]}
  shift 2
fi
[ $# -gt 0 ] && TARGETS=("$@")
for target in "${TARGETS[@]}"; do
  [ -f "fuzz/fuzz_targets/$target.rs" ] || { echo "no fuzz target $target" >&2; exit 2; }
done

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
target_dir=$(realpath -m "${FUZZ_TARGET_DIR:-fuzz/target}")
# No sanitizer: the targets are safe Rust, where a bug shows as a panic (debug assertions and
# overflow checks are on); without ASan the build is smaller and each case several times faster.
if [ "$mode" = short ]; then
  echo "== cargo fuzz build --dev (unoptimised, no debug info: the quick build CI can afford)"
  (cd fuzz && CARGO_PROFILE_DEV_DEBUG=0 cargo fuzz build --dev --debug-assertions \
    --sanitizer none --target-dir "$target_dir")
  bin=$target_dir/x86_64-unknown-linux-gnu/debug
else
  echo "== cargo fuzz build -O (optimised, debug assertions and overflow checks on)"
  (cd fuzz && cargo fuzz build -O --debug-assertions --sanitizer none --target-dir "$target_dir")
  bin=$target_dir/x86_64-unknown-linux-gnu/release
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()

# Oversized inputs every parser must refuse or take within the time and memory above: deep
# nesting, a million-element array, a 100 MB string, a CEL chain of thousands of terms.
oversized() {
  local target=$1 dir=$2
  mkdir -p "$dir"
  case "$target" in
    rule_file)
      python3 - "$dir" <<'EOF'
import re, sys
d = sys.argv[1]
rule = open("rules/agent/not-ready.toml").read()
def when(expression):
    return re.sub(r'^when = ".*"$', lambda _: f'when = "{expression}"', rule, count=1, flags=re.M)
# Known before the bounds of src/engine/rule/bounds.rs: a chain of a few thousand terms
# overflowed the stack while the rules loaded.
open(f"{d}/cel-chain", "w").write(when(" + ".join(["1"] * 5000) + " > 0"))
open(f"{d}/cel-nesting", "w").write(when("(" * 20000 + "1" + ")" * 20000 + " > 0"))
open(f"{d}/cel-string", "w").write(when("'" + "a" * 100_000_000 + "' == ''"))
open(f"{d}/toml-nesting", "w").write("a = " + "[" * 100000 + "]" * 100000 + "\n")
open(f"{d}/toml-array", "w").write("a = [" + "1," * 1000000 + "]\n")
open(f"{d}/toml-string", "w").write('title = "' + "a" * 100_000_000 + '"\n')
EOF
      ;;
    suppressions | serve_config)
      python3 - "$dir" <<'EOF'
import sys
d = sys.argv[1]
open(f"{d}/toml-nesting", "w").write("a = " + "[" * 100000 + "]" * 100000 + "\n")
open(f"{d}/toml-tables", "w").write("".join(f"[a{i}]\n" for i in range(200000)))
open(f"{d}/toml-array", "w").write("listen = [" + "1," * 1000000 + "]\n")
open(f"{d}/toml-string", "w").write('listen = "' + "a" * 100_000_000 + '"\n')
open(f"{d}/suppressions-many", "w").write('[[suppression]]\nrule = "*"\nresource = "*"\njustification = "x"\nexpires = 2030-01-01\n' * 100000)
EOF
      ;;
    bearer_token)
      python3 - "$dir" <<'EOF'
import sys
d = sys.argv[1]
open(f"{d}/huge-header", "w").write("Bearer " + "e" * 100_000_000)
open(f"{d}/many-dots", "w").write("Bearer " + "." * 1_000_000)
open(f"{d}/signed-nesting", "wb").write(b'{"alg":"RS256","kid":"fuzz-key","x":' + b"[" * 100000 + b"]" * 100000 + b"}\0{}")
open(f"{d}/signed-claims-array", "wb").write(b'{"alg":"RS256","kid":"fuzz-key"}\0{"roles":[' + b'"r",' * 1000000 + b'"r"]}')
EOF
      ;;
    *)
      # JSON inputs; arm_page and arm_error read one or two bytes before the body.
      local prefix=""
      [ "$target" = arm_page ] && prefix='\x00'
      [ "$target" = arm_error ] && prefix='\x00\x03\n'
      python3 - "$dir" "$prefix" <<'EOF'
import sys
d, prefix = sys.argv[1], sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
def put(name, body):
    open(f"{d}/{name}", "wb").write(prefix + body)
put("json-nesting", b'{"value":' + b"[" * 100000 + b"]" * 100000 + b"}")
put("json-objects", b'{"value":[' + b'{"a":' * 100000 + b"1" + b"}" * 100000 + b"]}")
put("json-array", b'{"value":[' + b"{}," * 1000000 + b'{}],"resource_changes":[' + b"1," * 1000000 + b'1],"changes":[' + b"{}," * 1000000 + b"{}]}")
put("json-string", b'{"value":[{"id":"' + b"a" * 100_000_000 + b'","type":"Microsoft.Compute/virtualMachines"}]}')
EOF
      ;;
  esac
}

run_short() {
  local target=$1
  local corpus=$work/corpus/$target artifacts=$work/artifacts/$target/
  mkdir -p "$corpus" "$artifacts"
  echo "== $target: ${seconds}s from fuzz/corpus/$target"
  if ! "$bin/$target" "$corpus" "fuzz/corpus/$target" \
    -dict="fuzz/dictionaries/$(dictionary "$target").dict" \
    -max_total_time="$seconds" -timeout=$TIMEOUT -rss_limit_mb=$RSS_MB -max_len=$MAX_LEN \
    -artifact_prefix="$artifacts" -print_final_stats=1 >"$work/$target.log" 2>&1; then
    tail -n 40 "$work/$target.log"
    echo "!! $target failed; the input is in $artifacts (keep it in fuzz/regressions/$target/)"
    failed+=("$target")
    return
  fi
  grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$target.log" | tail -n 1 || true
  replay "$target" "${FUZZ_OVERSIZED:-0}"
}

# Every file of fuzz/regressions/<target>/ once, and with OVERSIZED=1 the oversized inputs too.
# Those take seconds each in an optimised build and minutes in CI's unoptimised one, so CI
# leaves them to the long mode (and to FUZZ_OVERSIZED=1).
replay() {
  local target=$1 with_oversized=$2
  local artifacts=$work/artifacts/$target/
  mkdir -p "$artifacts"
  local replay=()
  [ -d "fuzz/regressions/$target" ] && while IFS= read -r -d '' f; do replay+=("$f"); done \
    < <(find "fuzz/regressions/$target" -type f ! -name '*.md' -print0)
  if [ "$with_oversized" = 1 ]; then
    oversized "$target" "$work/oversized/$target"
    while IFS= read -r -d '' f; do replay+=("$f"); done \
      < <(find "$work/oversized/$target" -type f -print0)
  fi
  [ ${#replay[@]} -gt 0 ] || return 0
  echo "   replaying ${#replay[@]} regression$([ "$with_oversized" = 1 ] && echo ' and oversized') inputs"
  # Oversized inputs take seconds to read; 60 s is still far under a hang.
  if ! "$bin/$target" -timeout=60 -rss_limit_mb=$RSS_MB -artifact_prefix="$artifacts" \
    "${replay[@]}" >"$work/$target.replay.log" 2>&1; then
    tail -n 40 "$work/$target.replay.log"
    echo "!! $target failed on a replayed input (above)"
    failed+=("$target")
  fi
}

run_long() {
  local target=$1
  local corpus=fuzz/corpus-long/$target artifacts=fuzz/artifacts/$target/
  local log=fuzz/logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log
  mkdir -p "$corpus" "$artifacts" fuzz/logs
  echo "== $target: ${seconds}s on $corpus (log $log)"
  local status=0
  "$bin/$target" "$corpus" "fuzz/corpus/$target" \
    -dict="fuzz/dictionaries/$(dictionary "$target").dict" \
    -max_total_time="$seconds" -timeout=$TIMEOUT -rss_limit_mb=$RSS_MB -max_len=$MAX_LEN \
    -artifact_prefix="$artifacts" -print_final_stats=1 >"$log" 2>&1 || status=$?
  local done_line execs cov ft
  done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1 || true)
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "${done_line%% *}")
  cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || echo "?")
  ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || echo "?")
  local outcome=ok
  if [ $status -ne 0 ]; then
    outcome="exit $status: $(grep -m1 -oE 'ERROR: libFuzzer: [a-z-]+|panicked at [^:]*:[0-9]+' "$log" || echo see log)"
    failed+=("$target")
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$target" "$seconds" \
    "${execs#\#}" "$cov" "$ft" "$outcome" | tee -a fuzz/long-runs.tsv
  replay "$target" 1
}

for target in "${TARGETS[@]}"; do
  "run_$mode" "$target"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "!! fuzzing found a problem in: ${failed[*]}"
  exit 1
fi
echo "== fuzzing: no crash, timeout or out-of-memory in ${#TARGETS[@]} targets"
