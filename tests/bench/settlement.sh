#!/usr/bin/env bash
# tests/bench/settlement.sh - the settlement benchmark of `make bench`: index,
# split (5 payees) and post revenue events, side by side with a raw COPY of
# the same posting rows into the same PostgreSQL (tests/bench/bench_ledger.c
# says what is measured and how). tests/bench/run.sh calls it and turns what
# it prints into the settlement section of docs/benchmarks.md.
#
# What runs: a private PostgreSQL cluster on a free port under
# var/bench/ledger.PID (services/stack/lib.sh, fsync off as in `make test`),
# then build/tests/bench/bench_ledger against it, run in that directory with
# a copy of migrations/; the bench makes a fresh migrated schema per run and
# serves the chain itself (no anvil). Everything
# is stopped and removed on exit; the logs are kept only when the run failed.
#
# Settings: BENCH_LEDGER_EVENTS (default 1000000; --quick: 20000) and
# BENCH_LEDGER_REPS (default 1), passed on to the bench.
#
# Output (stdout): logfmt records (info, group, bench); progress on stderr.
# Not a test: nothing here judges time; it fails only when something cannot
# run or answers wrongly.
#
# Usage: bash tests/bench/settlement.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
source services/stack/lib.sh

BUILD_DIR=${BUILD_DIR:-build}
HELPER=$PWD/$BUILD_DIR/tests/bench/bench_ledger
export BENCH_LEDGER_EVENTS=${BENCH_LEDGER_EVENTS:-1000000}
export BENCH_LEDGER_REPS=${BENCH_LEDGER_REPS:-1}

while (($#)); do
    case $1 in
    --quick) BENCH_LEDGER_EVENTS=20000 && shift ;;
    *) echo "usage: $0 [--quick]" >&2 && exit 2 ;;
    esac
done

say() { echo "bench: settlement: $*" >&2; }
die() { echo "bench: settlement: $*" >&2; exit 1; }

WORK=
# cleanup: stops and removes what this script started; keeps the logs of a failed run.
cleanup() {
    local rc=$?
    trap '' INT TERM
    stack_stop_all
    [[ -z $WORK ]] && return 0
    stack_pg_remove "$WORK/pg"
    ((rc == 0)) && rm -rf "$WORK" || say "logs kept in $WORK"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ -x $HELPER ]] || die "build first: make bench"
mkdir -p var/bench
WORK=$PWD/var/bench/ledger.$$
mkdir -p "$WORK"
say "starting PostgreSQL under $WORK"
pg_port=$(stack_free_port) || die "no free port"
stack_pg_start "$WORK/pg" "$pg_port" rights_bench
export DATABASE_URL=$STACK_PG_URL
printf 'info ledger_postgres="%s" ledger_cpus="%s"\n' "$(psql --version | awk '{ print $3 }')" "$(nproc)"

# The bench migrates a fresh schema for every run: from a copy of migrations/
# taken now, so that the runs of one benchmark see the same files.
cp -r migrations "$WORK/migrations"
say "bench_ledger: $BENCH_LEDGER_EVENTS events, $BENCH_LEDGER_REPS repetition(s)"
(cd "$WORK" && "$HELPER")
say "done"
