#!/usr/bin/env bash
# test_services.sh - the two service programs' start-up rules (svc.h), run
# as binaries against the runner's anvil (ETH_RPC_URL): --help, a bad
# argument, every bad variable reported at once, and the refusal to start
# when the node answers another chain id than CHAIN_ID (exit 2, nothing
# served).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/tap.sh
source services/stack/lib.sh
BIN=$PWD/${BUILD_DIR:-build}/bin
: "${ETH_RPC_URL:?set by tests/run.sh}" "${DATABASE_URL:?set by tests/run.sh}"
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/services.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/secret"
chmod 600 "$tmp/secret"

for svc in gateway settlement; do
    "$BIN/$svc" --help >"$tmp/out" 2>&1
    rc=$?
    [[ $rc -eq 0 ]] && grep -q "usage: $svc" "$tmp/out"
    expect "$svc --help prints its usage and exits 0" $? "rc=$rc $(cat "$tmp/out")"

    "$BIN/$svc" --frobnicate >"$tmp/out" 2>&1
    rc=$?
    [[ $rc -eq 2 ]] && grep -q "usage: $svc" "$tmp/out"
    expect "$svc refuses an argument with exit 2" $? "rc=$rc $(cat "$tmp/out")"

    env -i PATH="$PATH" CHAIN_ID=abc ETH_RPC_URL=not-a-url "$BIN/$svc" >"$tmp/out" 2>&1
    rc=$?
    [[ $rc -eq 2 ]] && grep -q "var=DATABASE_URL" "$tmp/out" && grep -q "var=CHAIN_ID" "$tmp/out" &&
        grep -q "var=ETH_RPC_URL" "$tmp/out"
    expect "$svc reports every bad variable at once" $? "rc=$rc $(cat "$tmp/out")"

    env -i PATH="$PATH" DATABASE_URL="$DATABASE_URL" ETH_RPC_URL="$ETH_RPC_URL" CHAIN_ID=1 \
        VAULT_ADDRESS=0x00000000000000000000000000000000000000aa AUTH_SECRET_FILE="$tmp/secret" \
        MEDIA_DIR="$tmp/media" GATEWAY_LISTEN=127.0.0.1:$(stack_free_port) \
        SETTLEMENT_LISTEN=127.0.0.1:$(stack_free_port) \
        timeout 20 "$BIN/$svc" >"$tmp/out" 2>&1
    rc=$?
    [[ $rc -eq 2 ]] && grep -q 'msg="chain id mismatch: refusing to start" node=31337 CHAIN_ID=1' "$tmp/out" &&
        ! grep -q 'msg="listening"' "$tmp/out"
    expect "$svc refuses to start on another chain (exit 2, nothing served)" $? "rc=$rc $(cat "$tmp/out")"
done
tap_finish
