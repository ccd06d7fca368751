#!/usr/bin/env bash
# test_runner.sh - proves that tests/run.sh cannot pass on nothing. Each case
# builds a scratch tree of tiny fake test programs (shell scripts in place of
# the compiled tests, next to the empty .c files they are "built" from), runs
# the real tests/run.sh on it with TESTS_DIR and BUILD_DIR pointing there, and
# checks the exit status, the closing line and what was reported:
#   * a missing program, a non-executable one, one that exits 0 without a
#     summary line, one whose summary counts no test, one that crashes (before
#     or after its summary) or hangs: each counts as one failure;
#   * the closing line is exactly "N passed, N failed" and sums every program;
#   * a run with nothing to run fails;
#   * TEST_SEED: a given seed reaches every program and is printed first and
#     before the closing line; without one a seed is picked, exported and
#     printed; an invalid one is refused; a program using another seed fails;
#   * the vectors check: a regenerated file that differs, a generator that
#     fails or ignores its output path, a vector file without a generator;
#   * the integration phase finds its programs the same way (run.sh sourced,
#     so that no server is started);
#   * node tests: a browser test that needs no gateway runs in the unit phase
#     (and fails like any program); one that mentions GATEWAY_URL does not run
#     alone but reaches the e2e tests in E2E_BROWSER_TESTS, and is a failure
#     when there is no e2e test to run it.
# Prints one "ok"/"not ok" line per check and a closing "N passed, N failed".
# shellcheck disable=SC2016 # the fake programs' bodies expand when they run
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
RUNNER=$PWD/tests/run.sh
scratch=$(mktemp -d "${TMPDIR:-/tmp}/test_runner.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
checks_passed=0
checks_failed=0
out=
rc=0
tree=

# check NAME CMD...: one check; on failure shows the last runner output with a
# "| " prefix (never "#", so that the outer runner reads nothing into it).
check() {
    local name=$1
    shift
    if "$@"; then
        echo "ok - $name"
        checks_passed=$((checks_passed + 1))
    else
        echo "not ok - $name"
        printf '%s\n' "$out" | tail -n 30 | sed 's/^/   | /'
        checks_failed=$((checks_failed + 1))
    fi
}

# new_tree NAME: an empty scratch source tree and build directory, in $tree.
new_tree() {
    tree=$scratch/$1
    mkdir -p "$tree"/tests/{unit,fuzz,integration,static,vectors,browser,e2e} \
        "$tree"/build/asan/tests/{unit,fuzz,integration}
}

# prog DIR NAME BODY: the source $tree/tests/DIR/NAME.c and its "program", an
# executable bash script running BODY.
prog() {
    : >"$tree/tests/$1/$2.c"
    printf '#!/usr/bin/env bash\n%s\n' "$3" >"$tree/build/asan/tests/$1/$2"
    chmod +x "$tree/build/asan/tests/$1/$2"
}

# run_tree [--no-seed] [NAME=VALUE...]: runs tests/run.sh unit on $tree into
# $out and $rc, with TEST_SEED=4242 (none at all with --no-seed) and
# TEST_TIMEOUT_S=5 unless the arguments say otherwise.
run_tree() {
    local seed=(TEST_SEED=4242)
    if [[ ${1:-} == --no-seed ]]; then
        seed=(-u TEST_SEED)
        shift
    fi
    out=$(env -u FUZZ_SEED "${seed[@]}" TEST_TIMEOUT_S=5 "$@" TESTS_DIR="$tree/tests" \
        BUILD_DIR="$tree/build" bash "$RUNNER" unit 2>&1)
    rc=$?
}

last_line_is() { [[ $(printf '%s\n' "$out" | tail -n 1) == "$1" ]]; }
has() { printf '%s\n' "$out" | grep -qF -- "$1"; }
lacks() { ! has "$1"; }
failed() { ((rc != 0)); }
succeeded() { ((rc == 0)); }

ok3='echo "ok - a"; echo "3 passed, 0 failed"'

# ---- programs that cannot run ----------------------------------------------------
new_tree missing
prog unit test_good "$ok3"
: >"$tree/tests/unit/test_gone.c"
prog fuzz fuzz_noexec "$ok3"
chmod -x "$tree/build/asan/tests/fuzz/fuzz_noexec"
run_tree
check "missing program is a failure" has "missing program $tree/build/asan/tests/unit/test_gone"
check "non-executable program is a failure" has "not an executable file: $tree/build/asan/tests/fuzz/fuzz_noexec"
check "both are named in the failed list" has "failed: unit/test_gone fuzz/noexec"
check "missing and non-executable: closing line" last_line_is "3 passed, 2 failed"
check "missing and non-executable: exit status" failed

# ---- programs that run but say nothing true ----------------------------------------
new_tree silent
prog unit test_no_summary 'echo "ok - looks fine"; exit 0'
run_tree
check "exit 0 without a summary line is a failure" last_line_is "0 passed, 1 failed"
check "exit 0 without a summary line: reason" has "(no summary line; exit code 0)"
check "exit 0 without a summary line: exit status" failed

new_tree zero
prog unit test_zero 'echo "0 passed, 0 failed"; exit 0'
prog unit test_good "$ok3"
run_tree
check "a summary that counts no test is a failure" last_line_is "3 passed, 1 failed"
check "a summary that counts no test: reason" has "(the summary counts no test)"
check "a summary that counts no test: exit status" failed

new_tree lying
prog unit test_bad_rc 'echo "5 passed, 0 failed"; exit 3'
prog unit test_fails 'echo "not ok - b"; echo "1 passed, 2 failed"; exit 0'
run_tree
check "non-zero exit after a passing summary is a failure" has "(exit code 3 after a passing summary)"
check "reported failures count even with exit 0" last_line_is "6 passed, 3 failed"

# ---- crashes and hangs -----------------------------------------------------------
new_tree crash
prog unit test_segv 'echo "ok - a"; kill -SEGV $$'
prog unit test_abort_late 'echo "4 passed, 0 failed"; kill -ABRT $$'
prog fuzz fuzz_hang 'exec sleep 60'
run_tree TEST_TIMEOUT_S=1
check "a crash before the summary is a failure" has "(no summary line; exit code 139)"
check "a crash after the summary is a failure" has "(exit code 134 after a passing summary)"
check "a hang is killed and is a failure" has "# killed after 1s"
check "crashes and hangs: closing line" last_line_is "4 passed, 3 failed"

# ---- sums and nothing ------------------------------------------------------------------
new_tree sums
prog unit test_a 'echo "3 passed, 0 failed"'
prog unit test_b 'echo "7 passed, 0 failed"'
prog fuzz fuzz_c 'echo "2 passed, 0 failed"'
printf '%s\n' 'echo "ok - s"' 'echo "1 passed, 0 failed"' >"$tree/tests/static/check_x.sh"
run_tree
check "closing line sums every program and shell test" last_line_is "13 passed, 0 failed"
check "an all-passing run succeeds" succeeded
check "the closing line is exact" bash -c '[[ $1 =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]]' _ \
    "$(printf '%s\n' "$out" | tail -n 1)"

new_tree empty
run_tree
check "a run with nothing to run fails" failed
check "a run with nothing to run: closing line" last_line_is "0 passed, 0 failed"

# ---- the seed ------------------------------------------------------------------------
new_tree seed
prog unit test_seeded 'echo "# seed=$TEST_SEED (replay with TEST_SEED=$TEST_SEED)"
echo "$TEST_SEED" >"$(dirname "$0")/seen"; echo "1 passed, 0 failed"'
printf '%s\n' "echo \"\$TEST_SEED\" >'$tree/seen_sh'" 'echo "1 passed, 0 failed"' \
    >"$tree/tests/static/check_seed.sh"
run_tree TEST_SEED=004242
seen=$(cat "$tree/build/asan/tests/unit/seen" 2>/dev/null)
check "a given TEST_SEED reaches the programs" [ "$seen" = 4242 ]
check "a given TEST_SEED reaches the shell tests" [ "$(cat "$tree/seen_sh" 2>/dev/null)" = 4242 ]
check "the seed is printed first" \
    [ "$(printf '%s\n' "$out" | head -n 1)" = "seed: TEST_SEED=4242 (replay with TEST_SEED=4242)" ]
check "the seed is printed before the closing line" \
    [ "$(printf '%s\n' "$out" | tail -n 2 | head -n 1)" = "seed: TEST_SEED=4242 (replay with TEST_SEED=4242)" ]
check "a seeded run passes" last_line_is "2 passed, 0 failed"

rm -f "$tree/build/asan/tests/unit/seen"
run_tree --no-seed
seen=$(cat "$tree/build/asan/tests/unit/seen" 2>/dev/null)
check "without TEST_SEED one is picked and exported" bash -c '[[ $1 =~ ^[0-9]+$ ]]' _ "$seen"
check "the picked seed is the one printed" has "seed: TEST_SEED=$seen (replay with TEST_SEED=$seen)"

run_tree TEST_SEED=12abc
check "an invalid TEST_SEED is refused" [ "$rc" = 2 ]
check "an invalid TEST_SEED: reason" has "TEST_SEED='12abc' is not a decimal number"

prog unit test_own_seed 'echo "# seed=1 (replay with TEST_SEED=1)"; echo "1 passed, 0 failed"'
run_tree
check "a program that ignores TEST_SEED is a failure" has "(ran with seed 1, not this run's TEST_SEED=4242)"
check "a program that ignores TEST_SEED: closing line" last_line_is "3 passed, 1 failed"

# ---- the vectors check ------------------------------------------------------------------
new_tree vectors
v=$tree/tests/vectors
gen() { # gen NAME OUTPUT-LINE BODY: a fake generator
    printf '#!/usr/bin/env bash\n%s\n%s\n' "$2" "$3" >"$v/gen_$1.sh"
}
gen same '# output: same.txt' 'echo same >"$1"'
echo same >"$v/same.txt"
run_tree
check "vectors: an unchanged file passes" last_line_is "1 passed, 0 failed"
gen drift '# output: drift.txt' 'echo fresh >"$1"'
echo committed >"$v/drift.txt"
gen broken '# output: broken.txt' 'echo "cast not found" >&2; exit 1'
echo x >"$v/broken.txt"
gen ignores_path '# output: fixed.txt' ':'
echo x >"$v/fixed.txt"
gen undeclared '' 'echo x >"$1"'
echo orphan >"$v/orphan.txt"
run_tree
check "vectors: a file that differs fails" has "not ok - drift.txt differs from a fresh run of gen_drift.sh"
check "vectors: the difference is shown" has "+fresh"
check "vectors: a failing generator fails" has "not ok - broken.txt: gen_broken.sh failed"
check "vectors: the generator's error is shown" has "cast not found"
check "vectors: a generator that ignores its path fails" \
    has "not ok - fixed.txt: gen_ignores_path.sh did not write the path it was given"
check "vectors: a generator without an output line fails" \
    has "not ok - gen_undeclared.sh has no '# output: NAME' line"
check "vectors: a file without a generator fails" has "not ok - orphan.txt: no generator"
check "vectors: closing line" last_line_is "1 passed, 5 failed"

# ---- the integration phase derives its programs the same way -------------------------------
new_tree integration
prog integration test_up "$ok3"
: >"$tree/tests/integration/test_down.c"
out=$(
    # shellcheck source=tests/run.sh
    source "$RUNNER"
    TESTS_DIR=$tree/tests
    BUILD_DIR=$tree/build
    TEST_SEED=4242
    runner_init || exit 1
    run_compiled integration test_
    echo "totals $total_pass $total_fail ${failed_bins[*]}"
)
check "integration: a missing program is a failure" has "totals 3 1 integration/test_down"

# ---- node tests: browser tests in the unit phase, e2e tests in the integration phase ----
new_tree node
js() { printf '%s\n' "$2" >"$tree/tests/$1.js"; } # js PATH BODY: a node test
js browser/test_plain 'console.log("ok - p"); console.log("2 passed, 0 failed");'
js browser/test_live '// drives process.env.GATEWAY_URL
console.log("ok - l"); console.log("5 passed, 0 failed");'
js e2e/test_flow 'console.log("1 passed, 0 failed");'
run_tree
check "node: a browser test that needs no gateway runs in the unit phase" has "== browser/test_plain.js"
check "node: a browser test that needs a gateway does not run alone" lacks "browser/test_live.js"
check "node: e2e tests do not run in the unit phase" lacks "e2e/test_flow.js"
check "node: unit closing line" last_line_is "2 passed, 0 failed"
js browser/test_silent 'console.log("ok - looks fine")'
js browser/test_throws 'throw new Error("boom")'
run_tree
check "node: a browser test without a summary line is a failure" has "(no summary line; exit code 0)"
check "node: a browser test that throws is a failure" has "(no summary line; exit code 1)"
check "node: failures counted" last_line_is "2 passed, 2 failed"

js e2e/test_flow 'console.log(`# browser tests: ${process.env.E2E_BROWSER_TESTS}`); console.log("1 passed, 0 failed");'
e2e_out() { # e2e_out: run_e2e of the sourced runner on $tree
    out=$(
        # shellcheck source=tests/run.sh
        source "$RUNNER"
        TESTS_DIR=$tree/tests
        BUILD_DIR=$tree/build
        TEST_SEED=4242
        runner_init || exit 1
        run_e2e
        echo "totals $total_pass $total_fail ${failed_bins[*]}"
    )
}
e2e_out
check "node: e2e tests run in the integration phase" has "== e2e/test_flow.js"
check "node: E2E_BROWSER_TESTS lists exactly the browser tests that need a gateway" \
    has "# browser tests: $tree/tests/browser/test_live.js"
rm "$tree/tests/e2e/test_flow.js"
e2e_out
check "node: a gateway browser test with no e2e test to run it is a failure" \
    has "needs a gateway, but no $tree/tests/e2e/test_*.js runs it"
check "node: ... and counted" has "totals 0 1 browser/test_live.js"

echo "$checks_passed passed, $checks_failed failed"
((checks_failed == 0 && checks_passed > 0))
