#!/usr/bin/env bash
# tests/run.sh [unit|integration|all] - runs every test program and ends with
# one closing line "N passed, N failed" (CI parses it: it stays last and exact).
#
# What runs is derived from the sources, so that no test can silently drop out:
#   unit         every TESTS_DIR/static/*.sh; the vectors check (each
#                TESTS_DIR/vectors/gen_* regenerated into a scratch directory
#                and compared with the committed file); the program built
#                from each TESTS_DIR/unit/test_*.c and TESTS_DIR/fuzz/fuzz_*.c;
#                each TESTS_DIR/browser/test_*.js that needs no gateway (node).
#   integration  a private PostgreSQL cluster and anvil chain started here on
#                free ports (never the user's `make run` stack), exported as
#                DATABASE_URL and ETH_RPC_URL and stopped on exit; then the
#                contract artifact check, the program built from each
#                TESTS_DIR/integration/test_*.c, every TESTS_DIR/stack/test_*.sh
#                and each TESTS_DIR/e2e/test_*.js (node).
# A browser test needs a gateway when its source mentions GATEWAY_URL (it
# drives a running gateway and stream): it is not run on its own but by the
# e2e tests, which start one; the runner passes them the list as
# E2E_BROWSER_TESTS (repository-relative paths). Such a test with no e2e test
# to run it is a failure.
# Programs are expected at BUILD_DIR/asan/tests/<dir>/<name> (make tests-build).
# A program ends with its own "N passed, N failed" line; it counts as at least
# one failure when it is missing or not executable, prints no summary line,
# has a summary that counts no test, exits non-zero, is killed after
# TEST_TIMEOUT_S, or prints a seed ("# ... seed=N") other than the run's.
#
# Seed: the whole run uses one TEST_SEED, the given one or else a random one,
# exported to every program and printed first and just before the closing
# line: TEST_SEED=N make test replays a run. tests/harness.h and
# tests/fuzz/driver.c seed from it (FUZZ_SEED, when set, wins for fuzz).
#
# Environment: BUILD_DIR (build; make passes its BUILD), TESTS_DIR (tests;
# tests/static/test_runner.sh points it at a scratch tree of fake programs),
# TEST_SEED, TEST_TIMEOUT_S (600, per program), TEST_ONLY (a glob on test
# names such as 'integration/test_txmgr' or '*settlement*': only matching tests
# run, for development; CI never sets it). Tests run from the repository
# root. Sourcing this file only defines the functions.
set -uo pipefail

RUNNER_GEN_TIMEOUT_S=300 # per vector generator

# runner_init: goes to the repository root and sets the directories, the
# sanitizer options, the totals and the seed. Returns 1 on a bad TEST_SEED.
runner_init() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." || return 1
    source services/stack/lib.sh
    BUILD_DIR=${BUILD_DIR:-build} # make passes its BUILD, so parallel builds can use their own
    export BUILD_DIR
    TESTS_DIR=${TESTS_DIR:-tests}
    ASAN_DIR=$BUILD_DIR/asan/tests
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    TEST_TIMEOUT_S=${TEST_TIMEOUT_S:-600} # a hang fails instead of stalling CI
    total_pass=0
    total_fail=0
    failed_bins=()
    tmp= # integration scratch dir (var/test/PID), removed on exit
    runner_pin_seed
}

# runner_pin_seed: exports TEST_SEED: the given one (1..19 decimal digits,
# leading zeros dropped) or a random 32-bit one. Returns 1, saying why, for
# anything else.
runner_pin_seed() {
    if [[ -z ${TEST_SEED:-} ]]; then
        TEST_SEED=$(od -An -N4 -tu4 /dev/urandom 2>/dev/null | tr -d ' ')
        [[ $TEST_SEED =~ ^[0-9]+$ ]] || TEST_SEED=$(date +%s)
    elif [[ ! $TEST_SEED =~ ^[0-9]{1,19}$ ]]; then
        echo "run.sh: TEST_SEED='$TEST_SEED' is not a decimal number of 1 to 19 digits" >&2
        return 1
    fi
    TEST_SEED=${TEST_SEED#"${TEST_SEED%%[!0]*}"}
    TEST_SEED=${TEST_SEED:-0}
    export TEST_SEED
}

# runner_add NAME PASSED FAILED: adds one program's counts to the totals.
runner_add() {
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
    (($3 > 0)) && failed_bins+=("$1")
    return 0
}

# runner_score RC OUTPUT: sets score_pass and score_fail from a program's exit
# code and output, and prints why it failed when the output does not say.
runner_score() {
    local rc=$1 out=$2 line l seed_re='^#.*[^A-Za-z_]seed=([0-9]+)'
    score_pass=0
    score_fail=1
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
    if [[ -z "$line" ]]; then
        echo "   (no summary line; exit code $rc)"
        return 0
    fi
    score_pass=${line%% passed*}
    score_fail=${line#*, }
    score_fail=${score_fail%% failed*}
    if ((score_pass + score_fail == 0)); then
        echo "   (the summary counts no test)"
        score_fail=1
    elif ((rc != 0 && score_fail == 0)); then
        echo "   (exit code $rc after a passing summary)"
        score_fail=1
    fi
    while IFS= read -r l; do
        [[ $l =~ $seed_re ]] || continue
        [[ ${BASH_REMATCH[1]} == "$TEST_SEED" || ${BASH_REMATCH[1]} == "${FUZZ_SEED:-}" ]] && continue
        echo "   (ran with seed ${BASH_REMATCH[1]}, not this run's TEST_SEED=$TEST_SEED)"
        score_fail=$((score_fail + 1))
        break
    done <<<"$out"
}

# run_one NAME CMD...: runs a test program (or a shell function), shows its
# output without the "ok - " lines and adds its result to the totals.
run_one() {
    local name=$1 out rc
    shift
    runner_selected "$name" || return 0
    echo "== $name"
    if declare -F "$1" >/dev/null; then
        out=$("$@" 2>&1) # a shell function here, bounded by what it runs
    else
        out=$(timeout --kill-after=10 "$TEST_TIMEOUT_S" "$@" 2>&1)
    fi
    rc=$?
    ((rc == 124 || rc == 137)) && out+=$'\n'"# killed after ${TEST_TIMEOUT_S}s"
    printf '%s\n' "$out" | grep -v '^ok - ' | sed 's/^/   /'
    runner_score "$rc" "$out"
    runner_add "$name" "$score_pass" "$score_fail"
}

# runner_selected NAME: true unless TEST_ONLY is set and NAME does not match it.
runner_selected() { [[ -z ${TEST_ONLY:-} || $1 == $TEST_ONLY ]]; }

# run_missing NAME WHY: an expected program that cannot run is one failure.
run_missing() {
    runner_selected "$1" || return 0
    echo "== $1"
    echo "   ($2)"
    runner_add "$1" 0 1
}

# run_compiled DIR PREFIX: runs the program built from each
# TESTS_DIR/DIR/PREFIX*.c, expected at ASAN_DIR/DIR/<source name without .c>.
run_compiled() {
    local dir=$1 prefix=$2 src stem bin name
    for src in "$TESTS_DIR/$dir/$prefix"*.c; do
        [[ -f "$src" ]] || continue # no match: the pattern itself
        stem=$(basename "$src" .c)
        bin=$ASAN_DIR/$dir/$stem
        name=$dir/${stem#fuzz_}
        if [[ ! -e "$bin" ]]; then
            run_missing "$name" "missing program $bin for $src: run make tests-build"
        elif [[ ! -f "$bin" || ! -x "$bin" ]]; then
            run_missing "$name" "not an executable file: $bin"
        else
            run_one "$name" "$bin"
        fi
    done
}

# run_scripts DIR PATTERN: runs each shell test TESTS_DIR/DIR/PATTERN with bash.
run_scripts() {
    local dir=$1 pattern=$2 f
    for f in "$TESTS_DIR/$dir/"$pattern; do
        [[ -f "$f" ]] || continue
        run_one "$dir/$(basename "$f")" bash "$f"
    done
}

# browser_needs_gateway FILE: the browser test mentions GATEWAY_URL.
browser_needs_gateway() { grep -q 'GATEWAY_URL' "$1"; }

# browser_gateway_tests: the browser tests that need a gateway, space-separated.
browser_gateway_tests() {
    local f list=()
    for f in "$TESTS_DIR/browser/"test_*.js; do
        [[ -f "$f" ]] && browser_needs_gateway "$f" && list+=("$f")
    done
    echo "${list[*]}"
}

# run_node DIR [standalone]: runs each TESTS_DIR/DIR/test_*.js with node and
# the pinned modules (NODE_PATH=.tools/node_modules); with "standalone", only
# those that need no gateway.
run_node() {
    local dir=$1 only=${2:-} f
    for f in "$TESTS_DIR/$dir/"test_*.js; do
        [[ -f "$f" ]] || continue
        [[ $only == standalone ]] && browser_needs_gateway "$f" && continue
        run_one "$dir/$(basename "$f")" env NODE_PATH="$PWD/.tools/node_modules" node "$f"
    done
}

# run_e2e: each TESTS_DIR/e2e/test_*.js, given the browser tests that need a
# gateway in E2E_BROWSER_TESTS; when there are such tests but no e2e test,
# each of them is a failure.
run_e2e() {
    local f
    E2E_BROWSER_TESTS=$(browser_gateway_tests)
    export E2E_BROWSER_TESTS
    if [[ -n $E2E_BROWSER_TESTS ]] && ! compgen -G "$TESTS_DIR/e2e/test_*.js" >/dev/null; then
        for f in $E2E_BROWSER_TESTS; do
            run_missing "browser/$(basename "$f")" "needs a gateway, but no $TESTS_DIR/e2e/test_*.js runs it"
        done
    fi
    run_node e2e
}

# vectors_output GEN: the vector file name that GEN declares on its
# "# output: NAME" (or "// output: NAME") line; empty if none.
vectors_output() {
    sed -nE 's,^(#|//) output: ([A-Za-z0-9_.-]+)$,\2,p' "$1" | head -n 1
}

# vectors_generate GEN OUT: runs one generator, bounded, writing OUT.
vectors_generate() {
    case $1 in
    *.sh) timeout "$RUNNER_GEN_TIMEOUT_S" bash "$1" "$2" ;;
    *.js) NODE_PATH=$PWD/.tools/node_modules timeout "$RUNNER_GEN_TIMEOUT_S" node "$1" "$2" ;;
    *) echo "unknown generator type: $1" && return 1 ;;
    esac
}

# check_vectors: each TESTS_DIR/vectors/gen_* regenerates the file it declares
# into a scratch directory, which must equal the committed one byte for byte;
# a file there that no generator declares fails too.
check_vectors() {
    local dir=$TESTS_DIR/vectors scratch gen name f out pass=0 fail=0 declared=" "
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/vectors.XXXXXX") || return 1
    for gen in "$dir"/gen_*; do
        [[ -f "$gen" ]] || continue
        name=$(vectors_output "$gen")
        if [[ -z "$name" ]]; then
            echo "not ok - ${gen##*/} has no '# output: NAME' line"
            fail=$((fail + 1))
            continue
        fi
        declared+="$name "
        if ! out=$(vectors_generate "$gen" "$scratch/$name" 2>&1); then
            echo "not ok - $name: ${gen##*/} failed"
            printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
            fail=$((fail + 1))
        elif [[ ! -f "$scratch/$name" ]]; then
            echo "not ok - $name: ${gen##*/} did not write the path it was given"
            fail=$((fail + 1))
        elif ! cmp -s "$dir/$name" "$scratch/$name"; then
            echo "not ok - $name differs from a fresh run of ${gen##*/} (rerun it and commit)"
            diff -u "$dir/$name" "$scratch/$name" 2>&1 | head -n 20 | sed 's/^/#   /'
            fail=$((fail + 1))
        else
            echo "ok - $name"
            pass=$((pass + 1))
        fi
    done
    for f in "$dir"/*; do
        [[ -f "$f" && ${f##*/} != gen_* && $declared != *" ${f##*/} "* ]] || continue
        echo "not ok - ${f##*/}: no generator in $dir declares it"
        fail=$((fail + 1))
    done
    rm -rf "$scratch"
    echo "$pass passed, $fail failed"
}

run_unit() {
    run_scripts static '*.sh'
    if compgen -G "$TESTS_DIR/vectors/*" >/dev/null; then
        run_one "vectors/regenerated-match-committed" check_vectors
    fi
    run_compiled unit test_
    run_compiled fuzz fuzz_
    run_node browser standalone
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
    local pg_port anvil_port
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
    run_compiled integration test_
    run_scripts stack 'test_*.sh'
    run_e2e
}

# runner_finish: the closing lines; the last one is exactly "N passed, N failed".
# Succeeds only when nothing failed and something passed.
runner_finish() {
    if ((${#failed_bins[@]})); then
        echo "failed: ${failed_bins[*]}"
    fi
    echo "seed: TEST_SEED=$TEST_SEED (replay with TEST_SEED=$TEST_SEED)"
    echo "$total_pass passed, $total_fail failed"
    ((total_fail == 0 && total_pass > 0))
}

runner_main() {
    local what=${1:-all}
    case "$what" in
    unit | integration | all) ;;
    *) echo "usage: $0 [unit|integration|all]" >&2 && return 2 ;;
    esac
    runner_init || return 2
    echo "seed: TEST_SEED=$TEST_SEED (replay with TEST_SEED=$TEST_SEED)"
    case "$what" in
    unit) run_unit ;;
    integration) run_integration ;;
    all)
        run_unit
        run_integration
        ;;
    esac
    runner_finish
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    runner_main "$@"
    exit
fi
