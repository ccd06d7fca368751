#!/usr/bin/env bash
# run.sh - `make run`: the embedded dev stack on default settings.
#   PostgreSQL (private cluster under var/pg, socket in var/pg, TCP 127.0.0.1)
#   anvil      (chain 31337 on 127.0.0.1:8545)
#   migrations applied, SettlementVault deployed by our own C signer
#   (rightsctl deploy: operator = anvil account 0, admin = guardian = anvil
#   account 9, audit window CLAIM_DELAY_S = 60 s), every effective setting
#   written to var/stack.env.
# Stops everything on Ctrl-C / SIGTERM. Setting DATABASE_URL or ETH_RPC_URL
# uses an existing server instead of starting one. STACK_VAR_DIR (default
# var/), PG_PORT (54329) and ANVIL_PORT (8545) move the stack, which the
# tests use to run a second stack beside the user's. CLAIM_DELAY_S (60) and
# CLAIM_WINDOW_S (0: claims never expire) set the vault's immutable windows.
set -euo pipefail
cd "$(dirname "$0")/../.."
source services/stack/lib.sh

VAR=$(mkdir -p "${STACK_VAR_DIR:-var}" && cd "${STACK_VAR_DIR:-var}" && pwd)
mkdir -p "$VAR" "$VAR/media"
RIGHTSCTL=$PWD/${BUILD_DIR:-build}/bin/rightsctl
PG_PORT=${PG_PORT:-54329}
ANVIL_PORT=${ANVIL_PORT:-8545}
# anvil's well-known dev accounts (mnemonic "test test ... junk"); dev only.
DEV_KEYS=(
    0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
    0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
    0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
)
DEV_ADDRS=(
    0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
    0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
)
# Account 9 is the vault's admin and guardian; the operator is never either.
ADMIN_KEY=0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6
ADMIN_ADDRESS=0xa0Ee7A142d267C1f36714E4a8F75612F20a79720
GUARDIAN_ADDRESS=$ADMIN_ADDRESS

cleanup() {
    trap '' INT TERM
    stack_log "stopping the stack"
    [[ -n "${IDLE_PID:-}" ]] && kill "$IDLE_PID" 2>/dev/null
    stack_stop_all
    stack_log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "${DATABASE_URL:-}" ]]; then
    stack_port_free "$PG_PORT" || stack_die "port $PG_PORT is in use (set PG_PORT or DATABASE_URL)"
    stack_pg_start "$VAR/pg" "$PG_PORT" rights
    DATABASE_URL=$STACK_PG_URL
fi
if [[ -z "${ETH_RPC_URL:-}" ]]; then
    stack_port_free "$ANVIL_PORT" || stack_die "port $ANVIL_PORT is in use (stop the other chain or set ETH_RPC_URL)"
    stack_anvil_start "$ANVIL_PORT" "$VAR/anvil.log"
    ETH_RPC_URL=http://127.0.0.1:$ANVIL_PORT
fi
CHAIN_ID=${CHAIN_ID:-31337}

OPERATOR_KEY_FILE=${OPERATOR_KEY_FILE:-$VAR/operator.key}
if [[ ! -f "$OPERATOR_KEY_FILE" ]]; then
    (umask 077 && echo "${DEV_KEYS[0]}" >"$OPERATOR_KEY_FILE")
fi
AUTH_SECRET_FILE=${AUTH_SECRET_FILE:-$VAR/auth.secret}
if [[ ! -f "$AUTH_SECRET_FILE" ]]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$AUTH_SECRET_FILE")
fi

GUARDIAN_KEY_FILE=$VAR/guardian.key # for `rightsctl audit --cancel --guardian-key`
if [[ ! -f "$GUARDIAN_KEY_FILE" ]]; then
    (umask 077 && echo "$ADMIN_KEY" >"$GUARDIAN_KEY_FILE")
fi
CLAIM_DELAY_S=${CLAIM_DELAY_S:-60}
CLAIM_WINDOW_S=${CLAIM_WINDOW_S:-0}

export DATABASE_URL ETH_RPC_URL CHAIN_ID OPERATOR_KEY_FILE
"$RIGHTSCTL" migrate --dir migrations
VAULT_ADDRESS=$("$RIGHTSCTL" deploy --admin "$ADMIN_ADDRESS" --guardian "$GUARDIAN_ADDRESS" \
    --claim-delay "$CLAIM_DELAY_S" --claim-window "$CLAIM_WINDOW_S")

# stack.env holds the database password and dev keys: owner-only.
rm -f "$VAR/stack.env"
(umask 077 && : >"$VAR/stack.env")
cat >"$VAR/stack.env" <<ENV
# written by make run at $(date -u +%FT%TZ); source it from a shell
DATABASE_URL='$DATABASE_URL'
ETH_RPC_URL='$ETH_RPC_URL'
CHAIN_ID='$CHAIN_ID'
VAULT_ADDRESS='$VAULT_ADDRESS'
OPERATOR_KEY_FILE='$OPERATOR_KEY_FILE'
AUTH_SECRET_FILE='$AUTH_SECRET_FILE'
SIWE_DOMAIN='${SIWE_DOMAIN:-localhost:8080}'
CONFIRMATIONS='${CONFIRMATIONS:-2}'
MEDIA_DIR='${MEDIA_DIR:-$VAR/media}'
GATEWAY_LISTEN='${GATEWAY_LISTEN:-127.0.0.1:8080}'
SETTLEMENT_LISTEN='${SETTLEMENT_LISTEN:-127.0.0.1:8081}'
MAX_FEE_PER_GAS_WEI='${MAX_FEE_PER_GAS_WEI:-500000000000}'
OPERATOR_ADDRESS='${DEV_ADDRS[0]}'
ADMIN_ADDRESS='$ADMIN_ADDRESS'
GUARDIAN_ADDRESS='$GUARDIAN_ADDRESS'
GUARDIAN_KEY_FILE='$GUARDIAN_KEY_FILE'
CLAIM_DELAY_S='$CLAIM_DELAY_S'
CLAIM_WINDOW_S='$CLAIM_WINDOW_S'
DEV_ACCOUNT_1='${DEV_ADDRS[1]}'
DEV_ACCOUNT_1_KEY='${DEV_KEYS[1]}'
DEV_ACCOUNT_2='${DEV_ADDRS[2]}'
DEV_ACCOUNT_2_KEY='${DEV_KEYS[2]}'
export DATABASE_URL ETH_RPC_URL CHAIN_ID VAULT_ADDRESS OPERATOR_KEY_FILE AUTH_SECRET_FILE \
    SIWE_DOMAIN CONFIRMATIONS MEDIA_DIR GATEWAY_LISTEN SETTLEMENT_LISTEN MAX_FEE_PER_GAS_WEI
ENV

cat <<MSG

  dev stack is up (Ctrl-C stops everything)
    PostgreSQL      ${DATABASE_URL%%:*}://…@${DATABASE_URL##*@}
    chain (anvil)   $ETH_RPC_URL   chain id $CHAIN_ID
    SettlementVault $VAULT_ADDRESS
    operator        ${DEV_ADDRS[0]}  (key in $OPERATOR_KEY_FILE)
    admin           $ADMIN_ADDRESS  (anvil account 9)
    guardian        $GUARDIAN_ADDRESS  (key in $GUARDIAN_KEY_FILE)
    audit window    ${CLAIM_DELAY_S}s before a settlement can be claimed; claim window ${CLAIM_WINDOW_S}s (0 = never expires)
    settings        $VAR/stack.env   (source it)

MSG

# Stay up until interrupted; exit if anvil dies.
if [[ -n "${STACK_ANVIL_PID:-}" ]]; then
    wait "$STACK_ANVIL_PID" || true
    stack_log "anvil exited"
else
    # `wait` on a background sleep lets the INT/TERM traps run at once.
    while true; do
        sleep 3600 &
        IDLE_PID=$!
        wait "$IDLE_PID" || true
    done
fi
