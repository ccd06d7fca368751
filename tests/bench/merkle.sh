#!/usr/bin/env bash
# tests/bench/merkle.sh - the settlement Merkle benchmark of `make bench`: the
# tree and every proof of BENCH_MERKLE_LEAVES payees built with merkle.h,
# side by side with @openzeppelin/merkle-tree (tests/bench/merkle_oz.js, the
# pinned copy in .tools/node_modules) on the same leaves, identical root and
# proofs checked (tests/bench/bench_merkle.c says what is measured and how).
# tests/bench/run.sh calls it and turns what it prints into the Merkle
# section of docs/benchmarks.md.
#
# What runs: build/tests/bench/bench_merkle, which writes the leaves to
# var/bench/merkle.XXXXXX and spawns node once per repetition. No database, no
# chain. The directory is removed on exit.
#
# Settings: BENCH_MERKLE_LEAVES (default 1000000; --quick: 20000),
# BENCH_MERKLE_REPS (default 1), BENCH_MERKLE_SEED (default 20260601),
# BENCH_MERKLE_NODE_HEAP_MB (node's --max-old-space-size, default 6144).
# Time: the reference side is slow. On the 2-core machine of docs/benchmarks.md
# (shared, load average 3 to 6) one repetition at 1,000,000 payees took 17 to
# 18 minutes in node and 2.5 to 4 seconds in merkle.h, with about 2 GB of node
# heap; use BENCH_MERKLE_LEAVES (or --quick) for a quick run.
#
# Output (stdout): logfmt records (info, group, bench); progress on stderr.
# Not a test: nothing here judges time; it fails only when something cannot
# run or the two implementations disagree.
#
# Usage: bash tests/bench/merkle.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD_DIR=${BUILD_DIR:-build}
HELPER=$PWD/$BUILD_DIR/tests/bench/bench_merkle
DRIVER=$PWD/tests/bench/merkle_oz.js
NODE_MODULES=$PWD/.tools/node_modules
export BENCH_MERKLE_LEAVES=${BENCH_MERKLE_LEAVES:-1000000}
export BENCH_MERKLE_REPS=${BENCH_MERKLE_REPS:-1}
HEAP_MB=${BENCH_MERKLE_NODE_HEAP_MB:-6144}

case ${1:-} in
"") ;;
--quick) BENCH_MERKLE_LEAVES=20000 ;;
*) echo "usage: $0 [--quick]" >&2 && exit 2 ;;
esac

say() { echo "bench: merkle: $*" >&2; }
die() { say "$*"; exit 1; }

[[ -x $HELPER ]] || die "build first: make bench"
NODE=$(command -v node) || die "node not found in PATH"
[[ -f $NODE_MODULES/@openzeppelin/merkle-tree/package.json ]] ||
    die "@openzeppelin/merkle-tree missing in $NODE_MODULES: run 'make setup'"

mkdir -p var/bench
WORK=$(mktemp -d "$PWD/var/bench/merkle.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

say "bench_merkle: $BENCH_MERKLE_LEAVES payees, $BENCH_MERKLE_REPS repetition(s)"
NODE_PATH=$NODE_MODULES "$HELPER" --work "$WORK" --node "$NODE" --driver "$DRIVER" \
    --heap-mb "$HEAP_MB"
say "done"
