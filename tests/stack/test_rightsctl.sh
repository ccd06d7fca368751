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
source tests/lib/tap.sh

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
# anvil_setBalance (no dev account is touched); vault = CREATE(sender, nonce).
# Admin and guardian are two other fresh keys (lowercase on the command
# line: any valid address form is accepted).
op_key=$(tr -d '\n' <"$tmp/k1")
op_addr=$addr
cp "$tmp/k1" "$tmp/op.key"
admin=$("$CTL" keygen --out "$tmp/admin.key" 2>/dev/null)
guardian=$("$CTL" keygen --out "$tmp/guardian.key" 2>/dev/null)
"$CAST" rpc --rpc-url "$ETH_RPC_URL" anvil_setBalance "$op_addr" 0x56bc75e2d63100000 >/dev/null
nonce=$("$CAST" nonce --rpc-url "$ETH_RPC_URL" "$op_addr")
want=$("$CAST" compute-address --nonce "$nonce" "$op_addr" | awk '{print $NF}')
deploy() { CHAIN_ID=${CHAIN_ID:-31337} OPERATOR_KEY_FILE=${KEY:-$tmp/op.key} "$CTL" deploy "$@"; }
vault=$(deploy --admin "${admin,,}" --guardian "$guardian" --claim-delay 3600 --claim-window 86400 2>"$tmp/err")
rc=$?
code=$("$CAST" code --rpc-url "$ETH_RPC_URL" "$vault" 2>&1)
[[ $rc -eq 0 && $vault == "$want" && ${#code} -gt 1000 ]]
expect "deploy prints the CREATE address and the vault has code" $? "rc=$rc got=$vault want=$want $(cat "$tmp/err")"
view() { "$CAST" call --rpc-url "$ETH_RPC_URL" "$vault" "$@" 2>&1 | awk '{print $1}'; } # cast adds " [8.64e4]"
op_role=$("$CAST" keccak OPERATOR_ROLE)
guard_role=$("$CAST" keccak GUARDIAN_ROLE)
zero_role=0x0000000000000000000000000000000000000000000000000000000000000000
got="$(view 'hasRole(bytes32,address)(bool)' "$op_role" "$op_addr") $(view 'hasRole(bytes32,address)(bool)' "$guard_role" "$guardian")"
got+=" $(view 'defaultAdmin()(address)') $(view 'hasRole(bytes32,address)(bool)' $zero_role "$op_addr")"
got+=" $(view 'claimDelay()(uint64)') $(view 'claimWindow()(uint64)')"
[[ $got == "true true $admin false 3600 86400" ]]
expect "the vault has the asked operator, guardian, admin and windows; the operator is not admin" $? "got $got"
grep -q "guardian=$guardian" "$tmp/err" && grep -q "admin=$admin" "$tmp/err" && grep -q "claim_delay_s=3600" "$tmp/err"
expect "deploy logs the roles and windows it deployed" $? "$(cat "$tmp/err")"

# Bad flags are usage errors that send nothing.
nonce_before=$("$CAST" nonce --rpc-url "$ETH_RPC_URL" "$op_addr")
bad_flags() { # NAME WANT_MESSAGE ARGS...
    local name=$1 msg=$2
    shift 2
    deploy "$@" >/dev/null 2>"$tmp/err"
    local rc=$? n
    n=$("$CAST" nonce --rpc-url "$ETH_RPC_URL" "$op_addr")
    [[ $rc -eq 2 && $n == "$nonce_before" ]] && grep -q -- "$msg" "$tmp/err"
    expect "deploy refuses $name and sends nothing" $? "rc=$rc nonce $nonce_before->$n $(cat "$tmp/err")"
}
bad_flags "a missing --guardian" "--admin ADDR and --guardian ADDR are required" --admin "$admin"
bad_flags "a missing --admin" "--admin ADDR and --guardian ADDR are required" --guardian "$guardian"
bad_flags "an operator that is the admin" "neither the admin nor the guardian" --admin "$op_addr" --guardian "$guardian"
bad_flags "an operator that is the guardian" "neither the admin nor the guardian" --admin "$admin" --guardian "$op_addr"
bad_flags "a bad address" "--guardian: '0x1234' is not an address" --admin "$admin" --guardian 0x1234
flip_first_letter() { # an EIP-55 address with the case of its first hex letter flipped
    local a=$1 i
    for ((i = 2; i < ${#a}; i++)); do
        [[ ${a:i:1} == [a-fA-F] ]] && { printf '%s' "${a:0:i}$(tr 'a-fA-F' 'A-Fa-f' <<<"${a:i:1}")${a:i+1}"; return; }
    done
}
bad_flags "a wrongly checksummed address" "is not an address" --admin "$admin" --guardian "$(flip_first_letter "$guardian")"
bad_flags "a claim delay above 30 days" "--claim-delay: '2592001' is not a number of seconds from 0 to 2592000" --admin "$admin" --guardian "$guardian" --claim-delay 2592001
bad_flags "a negative claim window" "--claim-window: '-1'" --admin "$admin" --guardian "$guardian" --claim-window -1
bad_flags "a flag without its value" "--claim-delay needs a value" --admin "$admin" --guardian "$guardian" --claim-delay

# A fee cap below anvil's base fee: refused before signing, nothing sent.
MAX_FEE_PER_GAS_WEI=1 deploy --admin "$admin" --guardian "$guardian" >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 1 && $("$CAST" nonce --rpc-url "$ETH_RPC_URL" "$op_addr") == "$nonce_before" ]] &&
    grep -q "MAX_FEE_PER_GAS_WEI\|cap" "$tmp/err"
expect "deploy refuses to bid above MAX_FEE_PER_GAS_WEI and sends nothing" $? "rc=$rc $(cat "$tmp/err")"

CHAIN_ID=1 deploy --admin "$admin" --guardian "$guardian" >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 1 ]] && grep -q "chain id mismatch: node says 31337, CHAIN_ID is 1" "$tmp/err"
expect "deploy refuses a chain id mismatch" $? "rc=$rc $(cat "$tmp/err")"

cp "$tmp/op.key" "$tmp/open.key" && chmod 644 "$tmp/open.key"
nonce_before=$("$CAST" nonce --rpc-url "$ETH_RPC_URL" "$op_addr")
KEY=$tmp/open.key deploy --admin "$admin" --guardian "$guardian" >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -eq 2 && $("$CAST" nonce --rpc-url "$ETH_RPC_URL" "$op_addr") == "$nonce_before" ]] &&
    grep -q "open.key" "$tmp/err" && ! grep -q "${op_key#0x}" "$tmp/err"
expect "deploy rejects a group/world-readable key file and never prints the key" $? "rc=$rc $(cat "$tmp/err")"

CHAIN_ID=abc ETH_RPC_URL=not-a-url deploy --admin "$admin" --guardian "$guardian" >/dev/null 2>"$tmp/err"
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

tap_finish
