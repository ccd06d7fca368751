#!/usr/bin/env bash
# test_make_run.sh - the `make run` stack (services/stack/run.sh) end to end,
# on private ports and a private var dir so it never meets the user's stack:
# it must start PostgreSQL and anvil, apply the migrations, deploy the vault
# with our own signer, write stack.env, and leave no process behind after
# SIGTERM (and after SIGINT).
set -uo pipefail
cd "$(dirname "$0")/../.."
source services/stack/lib.sh
# The stack under test must start its own servers: drop any settings the
# test runner exported for the other integration tests.
unset DATABASE_URL ETH_RPC_URL CHAIN_ID VAULT_ADDRESS OPERATOR_KEY_FILE AUTH_SECRET_FILE \
    SIWE_DOMAIN CONFIRMATIONS MEDIA_DIR GATEWAY_LISTEN SETTLEMENT_LISTEN
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; shift; printf '#   %s\n' "$@"; fail=$((fail + 1)); }

rpc() { # rpc URL METHOD PARAMS -> result field
    curl -sf -m 5 -H 'content-type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1" |
        sed -n 's/.*"result":"\{0,1\}\([^"]*\)"\{0,1\}}.*/\1/p'
}

# run_stack SIGNAL [PARENT_MODE]: one full start/stop cycle, stopped with
# SIGNAL. PARENT_MODE 700 puts the stack in a directory the postgres user
# cannot enter, like a checkout under /root.
run_stack() {
    local sig=$1 mode=${2:-755} dir pg_port anvil_port pid i
    mkdir -p "$PWD/var/test/run-$$-$sig-$mode"
    chmod "$mode" "$PWD/var/test/run-$$-$sig-$mode"
    dir=$PWD/var/test/run-$$-$sig-$mode/var
    sig="$sig/$mode"
    mkdir -p "$dir"
    pg_port=$(stack_free_port)
    anvil_port=$(stack_free_port)
    # Job control gives the stack its own process group and keeps SIGINT
    # deliverable (a plain background job would ignore it), like a terminal.
    set -m
    STACK_VAR_DIR=$dir PG_PORT=$pg_port ANVIL_PORT=$anvil_port \
        bash services/stack/run.sh >"$dir/out.log" 2>&1 &
    pid=$!
    set +m
    for ((i = 0; i < 600; i++)); do
        grep -q 'dev stack is up' "$dir/out.log" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q 'dev stack is up' "$dir/out.log"; then
        bad "$sig: stack starts" "$(tail -5 "$dir/out.log")"
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return
    fi
    ok "$sig: stack starts"

    # stack.env is sourceable and names the deployed vault
    (source "$dir/stack.env" && [[ $VAULT_ADDRESS =~ ^0x[0-9a-fA-F]{40}$ && $CHAIN_ID == 31337 &&
        $ETH_RPC_URL == "http://127.0.0.1:$anvil_port" && -f $OPERATOR_KEY_FILE ]]) &&
        ok "$sig: stack.env is complete" || bad "$sig: stack.env is complete" "$(cat "$dir/stack.env")"
    [[ $(stat -c %a "$dir/stack.env") == 600 ]] && ok "$sig: stack.env is owner-only" ||
        bad "$sig: stack.env is owner-only" "mode $(stat -c %a "$dir/stack.env")"
    local vault code role_call has_role
    vault=$(source "$dir/stack.env" && echo "$VAULT_ADDRESS")
    code=$(rpc "http://127.0.0.1:$anvil_port" eth_getCode "[\"$vault\",\"latest\"]")
    [[ ${#code} -gt 1000 ]] && ok "$sig: vault has code on chain" || bad "$sig: vault has code on chain" "code=${code:0:40}"
    # hasRole(OPERATOR_ROLE, anvil account 0) == true
    role_call=0x91d14854$(printf '%s' 97667070c54ef182b0f5858b034beac1b6f3089aa2d3188bb1e8929f4fa9b929)000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266
    has_role=$(rpc "http://127.0.0.1:$anvil_port" eth_call "[{\"to\":\"$vault\",\"data\":\"$role_call\"},\"latest\"]")
    [[ $has_role == 0x0000000000000000000000000000000000000000000000000000000000000001 ]] &&
        ok "$sig: operator holds OPERATOR_ROLE" || bad "$sig: operator holds OPERATOR_ROLE" "got $has_role"
    local migrated
    migrated=$(source "$dir/stack.env" && psql "$DATABASE_URL" -tAc 'SELECT count(*) FROM schema_migrations' 2>&1)
    [[ $migrated -ge 1 ]] && ok "$sig: migrations applied" || bad "$sig: migrations applied" "$migrated"

    if [[ $sig == INT/* ]]; then
        kill -INT -- "-$pid" # Ctrl-C reaches the whole foreground process group
    else
        kill -TERM "$pid"
    fi
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null || wait "$pid" 2>/dev/null
    local left
    left=$(pgrep -af -- "$dir" || true)
    left+=$(pgrep -af -- "--port $anvil_port" || true)
    left+=$(pgrep -af -- "-p $pg_port " || true) # the cluster may live behind a symlink
    if ! kill -0 "$pid" 2>/dev/null && [[ -z "$left" ]]; then
        ok "$sig: stops cleanly, nothing left running"
    else
        bad "$sig: stops cleanly, nothing left running" "$left"
        kill -9 -- "-$pid" 2>/dev/null
        stack_pg_stop "$dir/pg"
    fi
    stack_pg_remove "$dir/pg"
    rm -rf "$(dirname "$dir")"
}

run_stack TERM
run_stack INT
[[ $(id -u) -eq 0 ]] && run_stack TERM 700
echo "$pass passed, $fail failed"
((fail == 0))
