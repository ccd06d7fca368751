#!/usr/bin/env bash
# run.sh - `make run`: the embedded dev stack on default settings.
#   PostgreSQL (private cluster under var/pg, socket in var/pg, TCP 127.0.0.1)
#   anvil      (chain 31337 on 127.0.0.1:8545)
#   migrations applied, SettlementVault deployed by our own C signer
#   (rightsctl deploy: operator = anvil account 0, admin = guardian = anvil
#   account 9, audit window CLAIM_DELAY_S = 60 s)
#   the gateway (build/bin/gateway on GATEWAY_LISTEN, 127.0.0.1:8080), up
#   once /healthz answers; SIWE_DOMAIN defaults to GATEWAY_LISTEN's
#   host:port (localhost:PORT for a loopback address), and the printed URLs
#   use SIWE_DOMAIN, so that a browser on them signs in
#   the settlement service (build/bin/settlement on SETTLEMENT_LISTEN,
#   127.0.0.1:8081): the creator REST API, the indexer, the operator's
#   transactions
#   a demo creator (owner = anvil account 1) made through the settlement
#   API by services/stack/demo.js --api as a creator would: SIWE sign-in, a
#   5-way split (composer 35 / performer 25 / mixer 15 / equipment 10 /
#   community 15 %, anvil accounts 3..7), a RightsPass (0.01 ETH) deployed by
#   the operator, and a stream that a pass or 0.005 ETH of tips unlocks,
#   with a live test source pushed to it by `rightsctl publish --input
#   testsrc --ladder 480p,360p` until the stack stops
#   every effective setting written to var/stack.env.
# Stops everything on Ctrl-C / SIGTERM: publish first (ffmpeg closes its
# playlists through the gateway), then the gateway, the settlement service,
# anvil and PostgreSQL.
# Setting DATABASE_URL or ETH_RPC_URL uses an existing server instead of
# starting one. A kept var/ keeps the embedded cluster, but its database
# starts over whenever anvil starts afresh (a new chain). STACK_VAR_DIR (default var/), PG_PORT (54329), ANVIL_PORT
# (8545), GATEWAY_LISTEN and SETTLEMENT_LISTEN move the stack, which the tests use to run a
# second stack beside the user's. BLOCK_INTERVAL_S (2) mines an empty block
# that often on the embedded anvil, so that confirmations come. CLAIM_DELAY_S (60) and CLAIM_WINDOW_S (0:
# claims never expire) set the vault's immutable windows. Logs: var/anvil.log,
# var/gateway.log, var/settlement.log, var/demo.log, var/publish.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
source services/stack/lib.sh

VAR=$(mkdir -p "${STACK_VAR_DIR:-var}" && cd "${STACK_VAR_DIR:-var}" && pwd)
mkdir -p "$VAR" "$VAR/media"
RIGHTSCTL=$PWD/${BUILD_DIR:-build}/bin/rightsctl
GATEWAY=$PWD/${BUILD_DIR:-build}/bin/gateway
SETTLEMENT=$PWD/${BUILD_DIR:-build}/bin/settlement
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
# The demo stream's access rules.
DEMO_PRICE_WEI=10000000000000000 # 0.01 ETH
DEMO_TIP_RULE_WEI=5000000000000000 # 0.005 ETH
BLOCK_INTERVAL_S=${BLOCK_INTERVAL_S:-2} # an empty block this often on the embedded anvil (0: never)
PUBLISH_STOP_S=15 # ffmpeg's last uploads (each bounded by its 10 s I/O timeout)
GATEWAY_STOP_S=10
SERVICE_UP_S=30
SETTLEMENT_STOP_S=10

# The gateway and publish run in their own sessions (setsid), out of reach of
# the terminal's Ctrl-C, so that cleanup stops them in order: publish while
# the gateway still takes its last uploads, then the gateway, then the rest.
cleanup() {
    trap '' INT TERM
    stack_log "stopping the stack"
    [[ -n "${PUBLISH_PID:-}" ]] && stack_stop_pid "$PUBLISH_PID" "$PUBLISH_STOP_S"
    [[ -n "${GATEWAY_PID:-}" ]] && stack_stop_pid "$GATEWAY_PID" "$GATEWAY_STOP_S"
    [[ -n "${SETTLEMENT_PID:-}" ]] && stack_stop_pid "$SETTLEMENT_PID" "$SETTLEMENT_STOP_S"
    stack_stop_all
    stack_log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_healthy NAME PID URL: until URL/healthz answers 200 (SERVICE_UP_S at
# most); dies when the process exits first.
wait_healthy() {
    local name=$1 pid=$2 url=$3 i
    for ((i = 0; ; i++)); do
        [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url/healthz") == 200 ]] && return 0
        stack_pid_running "$pid" || stack_die "the $name exited, see $VAR/$name.log"
        ((i < SERVICE_UP_S * 10)) || stack_die "the $name's /healthz did not answer 200 in ${SERVICE_UP_S}s, see $VAR/$name.log"
        sleep 0.1
    done
}

PG_EMBEDDED=
if [[ -z "${DATABASE_URL:-}" ]]; then
    stack_port_free "$PG_PORT" || stack_die "port $PG_PORT is in use (set PG_PORT or DATABASE_URL)"
    stack_pg_start "$VAR/pg" "$PG_PORT" rights
    DATABASE_URL=$STACK_PG_URL
    PG_EMBEDDED=1
fi
if [[ -z "${ETH_RPC_URL:-}" ]]; then
    stack_port_free "$ANVIL_PORT" || stack_die "port $ANVIL_PORT is in use (stop the other chain or set ETH_RPC_URL)"
    stack_anvil_start "$ANVIL_PORT" "$VAR/anvil.log"
    ETH_RPC_URL=http://127.0.0.1:$ANVIL_PORT
    # anvil mines a block per transaction and none otherwise; a real chain's
    # blocks keep coming, and revenue needs CONFIRMATIONS blocks on top. An
    # empty block every BLOCK_INTERVAL_S keeps the clock moving (transactions
    # are still mined at once).
    if ((BLOCK_INTERVAL_S > 0)); then
        (trap 'exit 0' TERM
         while sleep "$BLOCK_INTERVAL_S"; do
             curl -s -m 2 -o /dev/null -H 'content-type: application/json' \
                 -d '{"jsonrpc":"2.0","id":1,"method":"evm_mine","params":[]}' "$ETH_RPC_URL" || true
         done) &
        STACK_PIDS+=($!)
    fi
fi
CHAIN_ID=${CHAIN_ID:-31337}

# A fresh anvil is a new chain: everything derived from an earlier one
# (revenue, ledger, settlements, the operator's nonces, followers' positions,
# passes) names blocks, contracts and transactions that no longer exist. The
# embedded database starts over with it; a database of your own that already
# holds creators is refused rather than mixed with another chain.
if [[ -n "${STACK_ANVIL_PID:-}" ]]; then
    if [[ -n $PG_EMBEDDED ]]; then
        stack_psql "${DATABASE_URL%/*}/postgres" -qc 'DROP DATABASE IF EXISTS rights WITH (FORCE)' \
            -c 'CREATE DATABASE rights' >/dev/null || stack_die "cannot recreate the embedded database"
    elif [[ $(stack_psql "$DATABASE_URL" -tAc "SELECT to_regclass('public.creators') IS NOT NULL") == t &&
        $(stack_psql "$DATABASE_URL" -tAc 'SELECT EXISTS (SELECT 1 FROM creators)') == t ]]; then
        stack_die "DATABASE_URL holds creators of an earlier chain, but anvil starts a fresh one: use an empty database, or set ETH_RPC_URL to that chain"
    fi
fi

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

# ---- the gateway -------------------------------------------------------------
GATEWAY_LISTEN=${GATEWAY_LISTEN:-127.0.0.1:8080}
GATEWAY_PORT=${GATEWAY_LISTEN##*:}
[[ $GATEWAY_PORT =~ ^[0-9]{1,5}$ && $GATEWAY_LISTEN == *:* ]] ||
    stack_die "GATEWAY_LISTEN='$GATEWAY_LISTEN' is not HOST:PORT"
# Where this script reaches the gateway (a wildcard listener answers on loopback).
case ${GATEWAY_LISTEN%:*} in
'' | 0.0.0.0 | '[::]' | '*') GATEWAY_LOCAL_URL=http://127.0.0.1:$GATEWAY_PORT ;;
*) GATEWAY_LOCAL_URL=http://$GATEWAY_LISTEN ;;
esac
# SIWE_DOMAIN is the host:port in the browser's address bar: the printed URL.
# A loopback gateway is printed as localhost (the documented dev default,
# localhost:8080), which browsers treat as a secure context for wallets.
case ${GATEWAY_LOCAL_URL#http://} in
127.0.0.1:*) SIWE_DOMAIN=${SIWE_DOMAIN:-localhost:$GATEWAY_PORT} ;;
*) SIWE_DOMAIN=${SIWE_DOMAIN:-${GATEWAY_LOCAL_URL#http://}} ;;
esac
case ${SIWE_DOMAIN%:*} in
localhost | 127.* | '[::1]') GATEWAY_URL=http://$SIWE_DOMAIN ;;
*) GATEWAY_URL=https://$SIWE_DOMAIN ;; # the gateway accepts https sign-ins there: put TLS in front
esac
MEDIA_DIR=${MEDIA_DIR:-$VAR/media}
WEB_DIR=${WEB_DIR:-$PWD/services/gateway/web}
CONFIRMATIONS=${CONFIRMATIONS:-2}
LOG_LEVEL=${LOG_LEVEL:-info}
MAX_FEE_PER_GAS_WEI=${MAX_FEE_PER_GAS_WEI:-500000000000}
[[ -x "$GATEWAY" ]] || stack_die "$GATEWAY is missing: run make build"
stack_port_free "$GATEWAY_PORT" || stack_die "port $GATEWAY_PORT is in use (set GATEWAY_LISTEN)"
export VAULT_ADDRESS AUTH_SECRET_FILE SIWE_DOMAIN CONFIRMATIONS LOG_LEVEL MAX_FEE_PER_GAS_WEI
GATEWAY_LISTEN=$GATEWAY_LISTEN MEDIA_DIR=$MEDIA_DIR WEB_DIR=$WEB_DIR \
    setsid "$GATEWAY" >>"$VAR/gateway.log" 2>&1 </dev/null &
GATEWAY_PID=$!
wait_healthy gateway "$GATEWAY_PID" "$GATEWAY_LOCAL_URL"

# ---- the settlement service ----------------------------------------------------
SETTLEMENT_LISTEN=${SETTLEMENT_LISTEN:-127.0.0.1:8081}
SETTLEMENT_PORT=${SETTLEMENT_LISTEN##*:}
[[ $SETTLEMENT_PORT =~ ^[0-9]{1,5}$ && $SETTLEMENT_LISTEN == *:* ]] ||
    stack_die "SETTLEMENT_LISTEN='$SETTLEMENT_LISTEN' is not HOST:PORT"
case ${SETTLEMENT_LISTEN%:*} in
'' | 0.0.0.0 | '[::]' | '*') SETTLEMENT_URL=http://127.0.0.1:$SETTLEMENT_PORT ;;
*) SETTLEMENT_URL=http://$SETTLEMENT_LISTEN ;;
esac
[[ -x "$SETTLEMENT" ]] || stack_die "$SETTLEMENT is missing: run make build"
stack_port_free "$SETTLEMENT_PORT" || stack_die "port $SETTLEMENT_PORT is in use (set SETTLEMENT_LISTEN)"
SETTLEMENT_LISTEN=$SETTLEMENT_LISTEN setsid "$SETTLEMENT" >>"$VAR/settlement.log" 2>&1 </dev/null &
SETTLEMENT_PID=$!
wait_healthy settlement "$SETTLEMENT_PID" "$SETTLEMENT_URL"

# ---- the demo creator, pass and live stream ------------------------------------
DEMO_OWNER_KEY_FILE=$VAR/demo-owner.key # anvil account 1 signs in as the demo creator
if [[ ! -f "$DEMO_OWNER_KEY_FILE" ]]; then
    (umask 077 && echo "${DEV_KEYS[1]}" >"$DEMO_OWNER_KEY_FILE")
fi
demo=$(NODE_PATH=$PWD/.tools/node_modules node services/stack/demo.js \
    --api "$SETTLEMENT_URL" --owner-key-file "$DEMO_OWNER_KEY_FILE" --price-wei "$DEMO_PRICE_WEI" --tip-min-wei "$DEMO_TIP_RULE_WEI" \
    --format env 2>>"$VAR/demo.log") || stack_die "seeding the demo failed, see $VAR/demo.log"
while IFS='=' read -r key value; do
    case $key in
    DEMO_CREATOR_ID | DEMO_CREATOR_KEY | DEMO_CREATOR_OWNER | DEMO_PASS_ADDRESS | DEMO_PASS_PRICE_WEI | \
        DEMO_STREAM_ID | DEMO_STREAM_KEY | DEMO_TIP_MIN_WEI | DEMO_INGEST_KEY)
        printf -v "$key" '%s' "$value" ;;
    *) stack_die "unexpected line from demo.js: '$key'" ;;
    esac
done <<<"$demo"
[[ -n "${DEMO_STREAM_ID:-}" && -n "${DEMO_INGEST_KEY:-}" ]] || stack_die "demo.js printed no stream"
DEMO_WATCH_URL=$GATEWAY_URL/watch/$DEMO_STREAM_ID
setsid "$RIGHTSCTL" publish --api "$GATEWAY_LOCAL_URL" --stream "$DEMO_STREAM_ID" --key "$DEMO_INGEST_KEY" \
    --input testsrc --ladder 480p,360p >>"$VAR/publish.log" 2>&1 </dev/null &
PUBLISH_PID=$!

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
SIWE_DOMAIN='$SIWE_DOMAIN'
CONFIRMATIONS='$CONFIRMATIONS'
MEDIA_DIR='$MEDIA_DIR'
WEB_DIR='$WEB_DIR'
LOG_LEVEL='$LOG_LEVEL'
GATEWAY_LISTEN='$GATEWAY_LISTEN'
GATEWAY_URL='$GATEWAY_URL'
SETTLEMENT_LISTEN='$SETTLEMENT_LISTEN'
SETTLEMENT_URL='$SETTLEMENT_URL'
MAX_FEE_PER_GAS_WEI='$MAX_FEE_PER_GAS_WEI'
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
DEMO_CREATOR_ID='$DEMO_CREATOR_ID'
DEMO_CREATOR_KEY='$DEMO_CREATOR_KEY'
DEMO_CREATOR_OWNER='$DEMO_CREATOR_OWNER'
DEMO_PASS_ADDRESS='$DEMO_PASS_ADDRESS'
DEMO_PASS_PRICE_WEI='$DEMO_PASS_PRICE_WEI'
DEMO_STREAM_ID='$DEMO_STREAM_ID'
DEMO_STREAM_KEY='$DEMO_STREAM_KEY'
DEMO_TIP_MIN_WEI='$DEMO_TIP_MIN_WEI'
DEMO_INGEST_KEY='$DEMO_INGEST_KEY'
DEMO_WATCH_URL='$DEMO_WATCH_URL'
DEMO_OWNER_KEY_FILE='$DEMO_OWNER_KEY_FILE'
export DATABASE_URL ETH_RPC_URL CHAIN_ID VAULT_ADDRESS OPERATOR_KEY_FILE AUTH_SECRET_FILE \
    SIWE_DOMAIN CONFIRMATIONS MEDIA_DIR WEB_DIR LOG_LEVEL GATEWAY_LISTEN SETTLEMENT_LISTEN \
    MAX_FEE_PER_GAS_WEI
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

  gateway           $GATEWAY_URL   (log $VAR/gateway.log)
    watch page      $DEMO_WATCH_URL
    API             $GATEWAY_URL/v1/streams/$DEMO_STREAM_ID   (also /v1/auth/nonce, /v1/auth/siwe, .../access, .../tips)
    health          $GATEWAY_URL/healthz   metrics $GATEWAY_URL/metrics
    demo creator    $DEMO_CREATOR_ID   owner ${DEV_ADDRS[1]} (anvil account 1: always allowed)
    demo pass       $DEMO_PASS_ADDRESS   RightsPass, 0.01 ETH (mint()), deployed by the operator
    demo stream     $DEMO_STREAM_ID   unlocked by a pass or 0.005 ETH of tips
    live source     rightsctl publish --input testsrc --ladder 480p,360p   (log $VAR/publish.log)
    your wallet     import anvil account 2 as a fan: ${DEV_ADDRS[2]}
                    key ${DEV_KEYS[2]} (a public dev key: never fund it elsewhere)
                    network: RPC $ETH_RPC_URL, chain id $CHAIN_ID; then open the watch page,
                    sign in, see the 402 gate, and buy a pass or tip

  settlement        $SETTLEMENT_URL   (log $VAR/settlement.log)
    chain           $SETTLEMENT_URL/v1/chain   health $SETTLEMENT_URL/healthz   metrics $SETTLEMENT_URL/metrics
    demo split      $SETTLEMENT_URL/v1/creators/$DEMO_CREATOR_ID/splits
                    composer 35 / performer 25 / mixer 15 / equipment 10 / community 15 (anvil accounts 3..7)
    revenue         $SETTLEMENT_URL/v1/creators/$DEMO_CREATOR_ID/revenue and .../balances
                    (the owner's session: sign in as anvil account 1, key in $DEMO_OWNER_KEY_FILE)
    settle          as the owner: POST $SETTLEMENT_URL/v1/creators/$DEMO_CREATOR_ID/settlements
                    then GET $SETTLEMENT_URL/v1/settlements/<id> and .../proofs/<payee>, and claim
                    (README.md "Trying it on the dev stack" does it step by step)
    audit           $RIGHTSCTL audit --api $SETTLEMENT_URL --rpc $ETH_RPC_URL
                    (add --cancel --guardian-key $GUARDIAN_KEY_FILE to veto bad batches in their window)
    recordings      $RIGHTSCTL verify-recording --stream <id> --api $SETTLEMENT_URL --media $MEDIA_DIR
                    (a recording is anchored once it ends)

MSG

# Stay up until interrupted; exit if anvil or the gateway dies.
watched=("$GATEWAY_PID" "$SETTLEMENT_PID")
[[ -n "${STACK_ANVIL_PID:-}" ]] && watched+=("$STACK_ANVIL_PID")
wait -n "${watched[@]}" || true
if ! stack_pid_running "$GATEWAY_PID"; then
    stack_log "the gateway exited, see $VAR/gateway.log"
elif ! stack_pid_running "$SETTLEMENT_PID"; then
    stack_log "the settlement service exited, see $VAR/settlement.log"
else
    stack_log "anvil exited"
fi
