#!/usr/bin/env bash
# tests/fuzz/libfuzzer.sh SECONDS BINARY... - runs libFuzzer binaries (built by
# `make fuzz` as build/fuzz/fuzz_<name>) for SECONDS each, one after another.
#
# Each run grows a scratch corpus build/fuzz/corpus/<name>/ (kept between runs)
# seeded from the committed tests/fuzz/corpus/<name>/, which libFuzzer only
# reads. A crashing input is written to build/fuzz/artifacts/<name>/; add it to
# tests/fuzz/gen_corpus.sh (regressions) once the bug is fixed. Prints the
# libFuzzer statistics per target and a closing "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

secs=${1:?usage: $0 SECONDS BINARY...}
shift
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0
fail=0
for bin in "$@"; do
    name=$(basename "$bin")
    name=${name#fuzz_}
    work=build/fuzz/corpus/$name
    art=build/fuzz/artifacts/$name
    log=build/fuzz/$name.log
    mkdir -p "$work" "$art"
    echo "== fuzz/$name (${secs}s)"
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" "$work" "tests/fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units|^stat::average_exec_per_sec' "$log" |
        sed 's/^/   /'
    if ((rc == 0)); then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        tail -n 40 "$log" | sed 's/^/   /'
        echo "   exit code $rc; full log $log; crashing input in $art/"
    fi
done
echo "$pass passed, $fail failed"
((fail == 0))
