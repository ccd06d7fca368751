#!/usr/bin/env bash
# tests/bench/gas.sh - the settlement gas benchmark of `make bench`: gasUsed
# of vault.settle at 10, 1,000 and 100,000 payees (it must not depend on
# them) and of claim at proof depth 17 for an existing and a new account,
# from the receipts of real transactions (tests/bench/bench_gas.c says what
# is sent and checked). tests/bench/run.sh calls it and turns what it prints
# into the gas section of docs/benchmarks.md.
#
# What runs: a private anvil on a free port (services/stack/lib.sh, as
# tests/run.sh and tests/bench/gateway.sh start it), then
# build/tests/bench/bench_gas against it from the repository root (it reads
# contracts-abi/). No database. anvil is stopped and its directory removed
# on exit; a failed run first shows the end of the anvil log.
#
# Output (stdout): logfmt records (info, group, measure); progress on stderr.
# Not a test: it fails only when a transaction fails or a result is wrong.
#
# Usage: bash tests/bench/gas.sh [--quick]   (--quick changes nothing: gas is
# the same at any speed, and the run takes seconds)
set -euo pipefail
cd "$(dirname "$0")/../.."
source services/stack/lib.sh

BUILD_DIR=${BUILD_DIR:-build}
HELPER=$PWD/$BUILD_DIR/tests/bench/bench_gas

case ${1:-} in
"" | --quick) ;;
*) echo "usage: $0 [--quick]" >&2 && exit 2 ;;
esac

say() { echo "bench: gas: $*" >&2; }

[[ -x $HELPER ]] || { say "build first: make bench"; exit 1; }
mkdir -p var/bench
WORK=$(mktemp -d "$PWD/var/bench/gas.XXXXXX")
# finish: stops anvil and removes its directory, showing the end of its log
# when the run failed.
finish() {
    local rc=$?
    trap '' INT TERM
    stack_stop_all
    if ((rc != 0)) && [[ -f $WORK/anvil.log ]]; then
        say "failed; the end of the anvil log:"
        tail -n 20 "$WORK/anvil.log" >&2
    fi
    rm -rf "$WORK"
}
trap finish EXIT
trap 'exit 130' INT TERM

anvil_port=$(stack_free_port) || { say "no free port"; exit 1; }
say "starting anvil on port $anvil_port"
stack_anvil_start "$anvil_port" "$WORK/anvil.log"
printf 'info gas_anvil="%s"\n' "$("$STACK_TOOLS_BIN/anvil" --version | head -1)"
ETH_RPC_URL=http://127.0.0.1:$anvil_port CHAIN_ID=31337 "$HELPER"
say "done"
