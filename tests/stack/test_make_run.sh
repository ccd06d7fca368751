#!/usr/bin/env bash
# test_make_run.sh - the `make run` stack (services/stack/run.sh) end to end,
# on private ports and a private var dir so it never meets the user's stack:
# it must start PostgreSQL and anvil, apply the migrations, deploy the vault
# with our own signer, write stack.env, and leave no process behind after
# SIGTERM (and after SIGINT). The v2 vault must have separate roles:
# operator = anvil account 0, admin = guardian = anvil account 9, and the
# 60 s audit window; stack.env and the banner must name all of them. The
# gateway must answer /healthz, serve the demo stream that demo.js seeded
# (GET /v1/streams/{id}, its pass deployed on chain) and receive the live
# test source: the master and both media playlists appear under MEDIA_DIR.
# The settlement service must answer /healthz with its indexer ok, and the
# demo creator, made through its REST API, must have the 5-way split
# (35/25/15/10/15 over anvil accounts 3..7) and the operator-deployed pass.
# After the stop, publish went first (the media playlists end with
# #EXT-X-ENDLIST) and no gateway, settlement, rightsctl or ffmpeg process is
# left. The SIGINT run starts on the var dir the SIGTERM run kept (a second
# `make run`): the embedded database starts over with the fresh chain.
set -uo pipefail
cd "$(dirname "$0")/../.."
source services/stack/lib.sh
CAST=${TOOLS_BIN:-$PWD/.tools/node_modules/.bin}/cast
A0=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
A9=0xa0Ee7A142d267C1f36714E4a8F75612F20a79720
A2=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
# The stack under test must start its own servers: drop any settings the
# test runner exported for the other integration tests.
unset DATABASE_URL ETH_RPC_URL CHAIN_ID VAULT_ADDRESS OPERATOR_KEY_FILE AUTH_SECRET_FILE \
    SIWE_DOMAIN CONFIRMATIONS MEDIA_DIR GATEWAY_LISTEN SETTLEMENT_LISTEN MAX_FEE_PER_GAS_WEI \
    CLAIM_DELAY_S CLAIM_WINDOW_S WEB_DIR LOG_LEVEL GATEWAY_URL
STACK_UP_S=90 # PostgreSQL, anvil, deploy, gateway, demo seeding
MEDIA_UP_S=45 # ffmpeg's start and first 2 s segment of each rendition
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; shift; printf '#   %s\n' "$@"; fail=$((fail + 1)); }

rpc() { # rpc URL METHOD PARAMS -> result field
    curl -sf -m 5 -H 'content-type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1" |
        sed -n 's/.*"result":"\{0,1\}\([^"]*\)"\{0,1\}}.*/\1/p'
}

# check_roles SIG DIR RPC VAULT: the deployed v2 vault's roles and windows,
# read with cast, match stack.env and the printed banner.
check_roles() {
    local sig=$1 dir=$2 url=$3 vault=$4 got want admin_role guardian_role
    guardian_role=$("$CAST" keccak GUARDIAN_ROLE)
    admin_role=0x0000000000000000000000000000000000000000000000000000000000000000
    got="$("$CAST" call --rpc-url "$url" "$vault" 'defaultAdmin()(address)' 2>&1)"
    got+=" $("$CAST" call --rpc-url "$url" "$vault" 'hasRole(bytes32,address)(bool)' "$guardian_role" $A9 2>&1)"
    got+=" $("$CAST" call --rpc-url "$url" "$vault" 'hasRole(bytes32,address)(bool)' "$admin_role" $A0 2>&1)"
    got+=" $("$CAST" call --rpc-url "$url" "$vault" 'hasRole(bytes32,address)(bool)' "$guardian_role" $A0 2>&1)"
    got+=" $("$CAST" call --rpc-url "$url" "$vault" 'claimDelay()(uint64)' 2>&1)"
    got+=" $("$CAST" call --rpc-url "$url" "$vault" 'claimWindow()(uint64)' 2>&1)"
    want="$A9 true false false 60 0"
    [[ $got == "$want" ]] && ok "$sig: admin and guardian are account 9, not the operator; 60 s audit window" ||
        bad "$sig: admin and guardian are account 9, not the operator; 60 s audit window" "got  $got" "want $want"
    got=$(source "$dir/stack.env" && echo "$OPERATOR_ADDRESS $ADMIN_ADDRESS $GUARDIAN_ADDRESS $CLAIM_DELAY_S $CLAIM_WINDOW_S $(stat -c %a "$GUARDIAN_KEY_FILE") $("$CAST" wallet address --private-key "$(cat "$GUARDIAN_KEY_FILE")")")
    want="$A0 $A9 $A9 60 0 600 $A9"
    [[ $got == "$want" ]] && ok "$sig: stack.env names operator, admin, guardian (0600 key) and windows" ||
        bad "$sig: stack.env names operator, admin, guardian (0600 key) and windows" "got  $got" "want $want"
    grep -q "admin  *$A9" "$dir/out.log" && grep -q "guardian  *$A9" "$dir/out.log" &&
        grep -q "operator  *$A0" "$dir/out.log" && ok "$sig: the banner prints operator, admin and guardian" ||
        bad "$sig: the banner prints operator, admin and guardian" "$(cat "$dir/out.log")"
}

# listening PORT: something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# procs_with_env NAME=VALUE: "PID CMDLINE" of each process whose environment
# holds exactly that entry (the gateway has no arguments to find it by).
procs_with_env() {
    local f pid
    for f in /proc/[0-9]*/environ; do
        pid=${f#/proc/}
        pid=${pid%/environ}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        { tr '\0' '\n' <"$f"; } 2>/dev/null | grep -qxF -- "$1" &&
            echo "$pid $({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)"
    done
    return 0
}

# check_gateway SIG DIR PORT: the gateway of the stack in DIR, on PORT.
check_gateway() {
    local sig=$1 dir=$2 port=$3 url got want health stream code i
    url=http://127.0.0.1:$port
    got=$(source "$dir/stack.env" && echo "$GATEWAY_URL $SIWE_DOMAIN $GATEWAY_LISTEN $MEDIA_DIR")
    want="http://localhost:$port localhost:$port 127.0.0.1:$port $dir/media"
    [[ $got == "$want" ]] && ok "$sig: stack.env: GATEWAY_URL and SIWE_DOMAIN agree with GATEWAY_LISTEN" ||
        bad "$sig: stack.env: GATEWAY_URL and SIWE_DOMAIN agree with GATEWAY_LISTEN" "got  $got" "want $want"
    health=$(curl -s -m 5 -w ' %{http_code}' "$url/healthz")
    [[ $health == *'"postgres": "ok"'*' 200' || $health == *'"postgres":"ok"'*' 200' ]] &&
        ok "$sig: the gateway answers /healthz (postgres ok)" || bad "$sig: the gateway answers /healthz (postgres ok)" "$health"
    local id pass_addr tip
    id=$(source "$dir/stack.env" && echo "$DEMO_STREAM_ID")
    pass_addr=$(source "$dir/stack.env" && echo "$DEMO_PASS_ADDRESS")
    tip=$(source "$dir/stack.env" && echo "$DEMO_TIP_MIN_WEI")
    stream=$(curl -s -m 5 -w ' %{http_code}' "$url/v1/streams/$id")
    [[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ && $stream == *' 200' &&
        $stream == *"\"$pass_addr\""* && $stream == *'"5000000000000000"'* && $tip == 5000000000000000 ]] &&
        ok "$sig: GET /v1/streams/<demo stream> is 200 with its pass and 0.005 ETH tip rule" ||
        bad "$sig: GET /v1/streams/<demo stream> is 200 with its pass and 0.005 ETH tip rule" "id=$id pass=$pass_addr" "$stream"
    code=$(rpc "http://127.0.0.1:$anvil_port" eth_getCode "[\"$pass_addr\",\"latest\"]")
    [[ ${#code} -gt 1000 ]] && ok "$sig: the demo pass has code on chain" || bad "$sig: the demo pass has code on chain" "code=${code:0:40}"
    grep -qF "http://localhost:$port/watch/$id" "$dir/out.log" && grep -qF "$A2" "$dir/out.log" &&
        ok "$sig: the banner prints the watch URL and the fan account to import" ||
        bad "$sig: the banner prints the watch URL and the fan account to import" "$(cat "$dir/out.log")"
    for ((i = 0; i < MEDIA_UP_S * 10; i++)); do
        [[ -s $dir/media/$id/master.m3u8 && -s $dir/media/$id/0/index.m3u8 && -s $dir/media/$id/1/index.m3u8 ]] && break
        sleep 0.1
    done
    [[ -s $dir/media/$id/master.m3u8 && -s $dir/media/$id/0/index.m3u8 && -s $dir/media/$id/1/index.m3u8 ]] &&
        ok "$sig: the live test source's master and media playlists appear under MEDIA_DIR ($((i / 10)) s)" ||
        bad "$sig: the live test source's master and media playlists appear under MEDIA_DIR" \
            "$(find "$dir/media" | head -20)" "$(tail -5 "$dir/publish.log" 2>/dev/null)" "$(tail -5 "$dir/gateway.log")"
    pgrep -f -- "ffmpeg.*$id" >/dev/null && ok "$sig: ffmpeg is publishing" ||
        bad "$sig: ffmpeg is publishing" "$(tail -5 "$dir/publish.log" 2>/dev/null)"
}

# check_settlement SIG DIR PORT: the settlement service and the demo's
# split, made through its API.
check_settlement() {
    local sig=$1 dir=$2 port=$3 url health split creator want
    url=http://127.0.0.1:$port
    health=$(curl -s -m 5 -w ' %{http_code}' "$url/healthz")
    [[ $health == *'"indexer":"ok"'*' 200' ]] && ok "$sig: the settlement service answers /healthz (indexer ok)" ||
        bad "$sig: the settlement service answers /healthz (indexer ok)" "$health"
    creator=$(source "$dir/stack.env" && echo "$DEMO_CREATOR_ID")
    split=$(curl -s -m 5 "$url/v1/creators/$creator/splits" | tr -d ' \n')
    want='"shares":[{"payee":"0x90F79bf6EB2c4f870365E785982E1f101E93b906","role":"composer","bps":3500},'
    want+='{"payee":"0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65","role":"performer","bps":2500},'
    want+='{"payee":"0x14dC79964da2C08b23698B3D3cc7Ca32193d9955","role":"community","bps":1500},'
    want+='{"payee":"0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc","role":"mixer","bps":1500},'
    want+='{"payee":"0x976EA74026E726554dB657fA54763abd0C3a0aa9","role":"equipment","bps":1000}]'
    [[ $split == *"$want"* && $split == '{"version":1,'* ]] &&
        ok "$sig: the demo creator's split is 35/25/15/10/15, version 1, set through the API" ||
        bad "$sig: the demo creator's split is 35/25/15/10/15, version 1, set through the API" "$split"
    grep -qF "$url/v1/creators/$creator/splits" "$dir/out.log" && grep -qF "$url/v1/creators/$creator/settlements" "$dir/out.log" &&
        grep -qF "rightsctl audit --api $url" "$dir/out.log" &&
        ok "$sig: the banner prints the settlement URLs and how to settle and audit" ||
        bad "$sig: the banner prints the settlement URLs and how to settle and audit" "$(cat "$dir/out.log")"
    # The printed audit command works on the fresh stack: one creator, no
    # settlement yet, nothing to flag.
    local audit rc
    audit=$(source "$dir/stack.env" && "${BUILD_DIR:-build}/bin/rightsctl" audit --api "$url" --rpc "$ETH_RPC_URL" 2>&1)
    rc=$?
    ((rc == 0)) && ok "$sig: rightsctl audit of the fresh stack exits 0" ||
        bad "$sig: rightsctl audit of the fresh stack exits 0" "exit $rc" "$audit"
}

# run_stack SIGNAL [PARENT_MODE [KEEP]]: one full start/stop cycle, stopped
# with SIGNAL, in the var dir of PARENT_MODE (made by the first run that
# uses it, removed unless KEEP is "keep"). PARENT_MODE 700 puts the stack in
# a directory the postgres user cannot enter, like a checkout under /root.
run_stack() {
    local sig=$1 mode=${2:-755} keep=${3:-} dir pg_port anvil_port gw_port st_port pid i
    mkdir -p "$PWD/var/test/run-$$-$mode"
    chmod "$mode" "$PWD/var/test/run-$$-$mode"
    dir=$PWD/var/test/run-$$-$mode/var
    [[ -d $dir/pg ]] && sig="$sig/$mode/again" || sig="$sig/$mode"
    mkdir -p "$dir"
    pg_port=$(stack_free_port)
    anvil_port=$(stack_free_port)
    gw_port=$(stack_free_port)
    st_port=$(stack_free_port)
    # Job control gives the stack its own process group and keeps SIGINT
    # deliverable (a plain background job would ignore it), like a terminal.
    set -m
    STACK_VAR_DIR=$dir PG_PORT=$pg_port ANVIL_PORT=$anvil_port GATEWAY_LISTEN=127.0.0.1:$gw_port \
        SETTLEMENT_LISTEN=127.0.0.1:$st_port bash services/stack/run.sh >"$dir/out.log" 2>&1 &
    pid=$!
    set +m
    for ((i = 0; i < STACK_UP_S * 10; i++)); do
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
    check_roles "$sig" "$dir" "http://127.0.0.1:$anvil_port" "$vault"
    local migrated
    migrated=$(source "$dir/stack.env" && psql "$DATABASE_URL" -tAc 'SELECT count(*) FROM schema_migrations' 2>&1)
    [[ $migrated -ge 1 ]] && ok "$sig: migrations applied" || bad "$sig: migrations applied" "$migrated"
    check_gateway "$sig" "$dir" "$gw_port"
    check_settlement "$sig" "$dir" "$st_port"
    local id
    id=$(source "$dir/stack.env" && echo "$DEMO_STREAM_ID")

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
    local left r ended=0
    for r in 0 1; do
        [[ $(tail -n 1 "$dir/media/$id/$r/index.m3u8" 2>/dev/null) == '#EXT-X-ENDLIST' ]] && ended=$((ended + 1))
    done
    ((ended == 2)) && ok "$sig: publish stopped before the gateway: both media playlists end with #EXT-X-ENDLIST" ||
        bad "$sig: publish stopped before the gateway: both media playlists end with #EXT-X-ENDLIST" \
            "$(tail -n 2 "$dir/media/$id"/*/index.m3u8 2>&1)" "$(tail -n 5 "$dir/publish.log" 2>&1)"
    left=$(pgrep -af -- "$dir" || true)
    left+=$(pgrep -af -- "--port $anvil_port" || true)
    left+=$(pgrep -af -- "-p $pg_port " || true) # the cluster may live behind a symlink
    left+=$(pgrep -af -- "$id" || true)         # rightsctl publish and ffmpeg
    left+=$(procs_with_env "MEDIA_DIR=$dir/media") # the gateway
    left+=$(procs_with_env "SETTLEMENT_LISTEN=127.0.0.1:$st_port") # the settlement service
    listening "$gw_port" && left+=" (something still listens on the gateway's port $gw_port)"
    listening "$st_port" && left+=" (something still listens on the settlement port $st_port)"
    if ! kill -0 "$pid" 2>/dev/null && [[ -z "$left" ]]; then
        ok "$sig: stops cleanly, nothing left running"
    else
        bad "$sig: stops cleanly, nothing left running" "$left"
        kill -9 -- "-$pid" 2>/dev/null
        stack_pg_stop "$dir/pg"
    fi
    [[ $keep == keep ]] && return
    stack_pg_remove "$dir/pg"
    rm -rf "$(dirname "$dir")"
}

run_stack TERM 755 keep
run_stack INT 755
[[ $(id -u) -eq 0 ]] && run_stack TERM 700
echo "$pass passed, $fail failed"
((fail == 0))
