#!/usr/bin/env bash
# test_rightsctl.sh - the rightsctl CLI against the runner's PostgreSQL
# (DATABASE_URL) and anvil (ETH_RPC_URL), checked with cast as the
# independent reference: keygen, deploy (our own signer), migrate, and the
# configuration / key-file error paths with their exit codes and messages.
set -uo pipefail
cd "$(dirname "$0")/../.."
CTL=$PWD/${BUILD_DIR:-build}/bin/rightsctl
CAST=${TOOLS_BIN:-$PWD/.tools/node_modules/.bin}/cast
: "${ETH_RPC_URL:?set by tests/run.sh}" "${DATABASE_URL:?set by tests/run.sh}"
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/rightsctl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
expect() { # expect NAME CONDITION-STATUS DETAIL
    if [[ $2 -eq 0 ]]; then
        echo "ok - $1"
        pass=$((pass + 1))
    else
        echo "not ok - $1"
        printf '#   %s\n' "$3"
        fail=$((fail + 1))
    fi
}

# keygen: new 0600 file whose key cast maps to the printed address
addr=$("$CTL" keygen --out "$tmp/k1" 2>"$tmp/err")
rc=$?
mode=$(stat -c %a "$tmp/k1" 2>/dev/null)
cast_addr=$("$CAST" wallet address --private-key "$(tr -d '\n' <"$tmp/k1")" 2>&1)
[[ $rc -eq 0 && $mode == 600 && $addr == "$cast_addr" && $addr =~ ^0x[0-9a-fA-F]{40}$ ]]
expect "keygen writes a 0600 key that cast maps to the printed address" $? "rc=$rc mode=$mode ours=$addr cast=$cast_addr"

before=$(sha256sum "$tmp/k1")
"$CTL" keygen --out "$tmp/k1" >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 1 && $(sha256sum "$tmp/k1") == "$before" ]] && grep -q "cannot create key file" "$tmp/err"
expect "keygen never overwrites a key file" $? "rc=$rc $(cat "$tmp/err")"

# deploy: the operator is the key keygen just made, funded with
# anvil_setBalance (no dev account is touched); vault = CREATE(sender, nonce)
op_key=$(tr -d '\n' <"$tmp/k1")
op_addr=$addr
cp "$tmp/k1" "$tmp/op.key"
"$CAST" rpc --rpc-url "$ETH_RPC_URL" anvil_setBalance "$op_addr" 0x56bc75e2d63100000 >/dev/null
nonce=$("$CAST" nonce --rpc-url "$ETH_RPC_URL" "$op_addr")
want=$("$CAST" compute-address --nonce "$nonce" "$op_addr" | awk '{print $NF}')
vault=$(CHAIN_ID=31337 OPERATOR_KEY_FILE=$tmp/op.key "$CTL" deploy 2>"$tmp/err")
rc=$?
code=$("$CAST" code --rpc-url "$ETH_RPC_URL" "$vault" 2>&1)
[[ $rc -eq 0 && $vault == "$want" && ${#code} -gt 1000 ]]
expect "deploy prints the CREATE address and the vault has code" $? "rc=$rc got=$vault want=$want $(cat "$tmp/err")"
role=$("$CAST" call --rpc-url "$ETH_RPC_URL" "$vault" "hasRole(bytes32,address)(bool)" \
    "$("$CAST" keccak OPERATOR_ROLE)" "$op_addr" 2>&1)
[[ $role == true ]]
expect "the deploying key holds OPERATOR_ROLE" $? "hasRole=$role"

CHAIN_ID=1 OPERATOR_KEY_FILE=$tmp/op.key "$CTL" deploy >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 1 ]] && grep -q "chain id mismatch: node says 31337, CHAIN_ID is 1" "$tmp/err"
expect "deploy refuses a chain id mismatch" $? "rc=$rc $(cat "$tmp/err")"

cp "$tmp/op.key" "$tmp/open.key" && chmod 644 "$tmp/open.key"
nonce_before=$("$CAST" nonce --rpc-url "$ETH_RPC_URL" "$op_addr")
OPERATOR_KEY_FILE=$tmp/open.key "$CTL" deploy >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 2 && $("$CAST" nonce --rpc-url "$ETH_RPC_URL" "$op_addr") == "$nonce_before" ]] &&
    grep -q "open.key" "$tmp/err" && ! grep -q "${op_key#0x}" "$tmp/err"
expect "deploy rejects a group/world-readable key file and never prints the key" $? "rc=$rc $(cat "$tmp/err")"

CHAIN_ID=abc ETH_RPC_URL=not-a-url OPERATOR_KEY_FILE=$tmp/op.key "$CTL" deploy >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 2 ]] && grep -q "var=CHAIN_ID" "$tmp/err" && grep -q "var=ETH_RPC_URL" "$tmp/err"
expect "deploy reports every bad variable at once" $? "rc=$rc $(cat "$tmp/err")"

# migrate: into a fresh database, twice
db=rightsctl_$$
psql "$DATABASE_URL" -qc "CREATE DATABASE $db" >/dev/null
url=${DATABASE_URL%/*}/$db
DATABASE_URL=$url "$CTL" migrate --dir migrations 2>"$tmp/err1"
rc1=$?
DATABASE_URL=$url "$CTL" migrate --dir migrations 2>"$tmp/err2"
rc2=$?
files=$(ls migrations/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
rows=$(psql "$url" -tAc "SELECT count(*) FROM schema_migrations")
[[ $rc1 -eq 0 && $rc2 -eq 0 && $rows == "$files" ]] && grep -q "applied=$files" "$tmp/err1" &&
    grep -q "applied=0" "$tmp/err2"
expect "migrate applies every migration once" $? "rc=$rc1/$rc2 rows=$rows files=$files $(cat "$tmp/err1" "$tmp/err2")"
psql "$DATABASE_URL" -qc "DROP DATABASE $db" >/dev/null

"$CTL" frobnicate >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 2 ]] && grep -q "unknown command 'frobnicate'" "$tmp/err"
expect "an unknown command is a usage error" $? "rc=$rc"

echo "$pass passed, $fail failed"
((fail == 0))
