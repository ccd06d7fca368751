#!/usr/bin/env bash
# tests/run.sh [unit|integration|all] - runs the test binaries built by
# `make tests-build` and prints one closing line "N passed, N failed".
#
# Unit tests run as they are. Integration tests get a private PostgreSQL
# cluster and a private anvil chain started here on free ports (never the
# user's `make run` stack), exported as DATABASE_URL and ETH_RPC_URL, and
# stopped on exit. Tests run from the repository root.
set -uo pipefail
cd "$(dirname "$0")/.."
source services/stack/lib.sh

what=${1:-all}
ASAN_DIR=build/asan/tests
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
total_pass=0
total_fail=0
failed_bins=()
TEST_TIMEOUT_S=${TEST_TIMEOUT_S:-600} # per test program; a hang fails instead of stalling CI
tmp= # integration scratch dir (var/test/PID), removed on exit

# run_one NAME CMD...: runs a test program, echoes its output, and adds its
# "N passed, N failed" line to the totals. A crash or a missing summary line
# counts as one failure.
run_one() {
    local name=$1 out rc line p f
    shift
    echo "== $name"
    if declare -F "$1" >/dev/null; then
        out=$("$@" 2>&1) # a shell function here, bounded by what it runs
    else
        out=$(timeout --kill-after=10 "$TEST_TIMEOUT_S" "$@" 2>&1)
    fi
    rc=$?
    ((rc == 124 || rc == 137)) && out+=$'\n'"# killed after ${TEST_TIMEOUT_S}s"
    printf '%s\n' "$out" | grep -v '^ok - ' | sed 's/^/   /'
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
    if [[ -z "$line" ]]; then
        p=0
        f=1
        echo "   (no summary line; exit code $rc)"
    else
        p=${line%% passed*}
        f=${line#*, }
        f=${f%% failed*}
        ((rc != 0 && f == 0)) && f=1
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    ((f > 0)) && failed_bins+=("$name")
    return 0
}

run_unit() {
    local t
    run_one "static/check_repo.sh" bash tests/static/check_repo.sh
    for t in "$ASAN_DIR"/unit/test_*; do
        [[ -x "$t" ]] && run_one "unit/$(basename "$t")" "$t"
    done
    for t in "$ASAN_DIR"/fuzz/fuzz_*; do
        [[ -x "$t" ]] && run_one "fuzz/${t##*/fuzz_}" "$t"
    done
}

# The committed contract artifacts must equal a fresh compile.
check_contracts() {
    if node_out=$(bash contracts-abi/compile.sh --check 2>&1); then
        echo "1 passed, 0 failed"
    else
        printf '%s\n' "$node_out"
        echo "0 passed, 1 failed"
    fi
}

run_integration() {
    local pg_port anvil_port t
    tmp=var/test/$$
    mkdir -p "$tmp"
    trap 'stack_stop_all; stack_pg_remove "$tmp/pg"; rm -rf "$tmp"; rmdir var/test 2>/dev/null' EXIT
    trap 'exit 130' INT TERM
    pg_port=$(stack_free_port) || stack_die "no free port"
    stack_pg_start "$tmp/pg" "$pg_port" rights_test
    anvil_port=$(stack_free_port) || stack_die "no free port"
    stack_anvil_start "$anvil_port" "$tmp/anvil.log"
    export DATABASE_URL=$STACK_PG_URL
    export ETH_RPC_URL=http://127.0.0.1:$anvil_port
    export CHAIN_ID=31337
    export TOOLS_BIN=$STACK_TOOLS_BIN
    export TEST_TMPDIR=$PWD/$tmp
    run_one "contracts/artifacts-match-fresh-compile" check_contracts
    for t in "$ASAN_DIR"/integration/test_*; do
        [[ -x "$t" ]] && run_one "integration/$(basename "$t")" "$t"
    done
    run_one "stack/test_rightsctl.sh" bash tests/stack/test_rightsctl.sh
    run_one "stack/test_make_run.sh" bash tests/stack/test_make_run.sh
}

case "$what" in
    unit) run_unit ;;
    integration) run_integration ;;
    all) run_unit; run_integration ;;
    *) echo "usage: $0 [unit|integration|all]" >&2; exit 2 ;;
esac

if ((${#failed_bins[@]})); then
    echo "failed: ${failed_bins[*]}"
fi
echo "$total_pass passed, $total_fail failed"
((total_fail == 0 && total_pass > 0))
