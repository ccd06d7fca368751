#!/usr/bin/env bash
# tests/bench/gateway.sh - the gateway's benchmarks for `make bench`, each
# side by side with its reference in the same run (docs/architecture.md
# "Performance targets"). tests/bench/run.sh calls it after bench_crypto and
# turns what it prints into docs/benchmarks.md; nothing is typed in.
#
#   hls      gated segments (2 MiB) and media playlists (~1 KB) from our
#            gateway vs nginx with secure_link serving the same files, under
#            the same wrk load, runs alternating: requests/s, ratio gateway/nginx.
#   signin   SIWE sign-ins/s through POST /v1/auth/siwe vs the raw
#            libsecp256k1 recover rate bench_crypto measured earlier in this
#            run (--recover-best, --recover-median).
#   access   warm access_decide() p50/p99/max against the real PostgreSQL.
#   memory   peak RSS of a fresh gateway serving 1,000 concurrent viewers.
#
# What runs: a private PostgreSQL cluster and anvil on free ports under
# var/bench/gw.PID (services/stack/lib.sh, as tests/run.sh does), the
# migrations, a vault deployed by `rightsctl deploy`, rows and media seeded by
# bench_gateway seed, build/bin/gateway, and nginx run by us in the
# foreground with its own prefix and config. Everything is stopped and
# removed on exit; the logs are kept only when the run failed.
#
# CPUs: the system under test - the gateway and the PostgreSQL it queries, or
# nginx - is pinned to CPU 0 (taskset); the load generators (wrk, the
# bench_gateway clients) and anvil to the other CPUs. On a one-CPU machine
# nothing is pinned and the document says so.
#
# nginx and wrk are installed here (Debian packages nginx-core and wrk) when
# missing and we are root, with a temporary /usr/sbin/policy-rc.d that keeps
# Debian's postinst from starting a system nginx; otherwise the script prints
# the apt-get command and fails. `make test` needs neither.
#
# Output (stdout): logfmt records as bench_crypto's (info, group, bench,
# measure); progress on stderr. Not a test: nothing here judges time; it
# fails only when something cannot run or answers wrongly.
#
# Usage: bash tests/bench/gateway.sh --recover-best R --recover-median R [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
source services/stack/lib.sh

BUILD_DIR=${BUILD_DIR:-build}
GATEWAY=$PWD/$BUILD_DIR/bin/gateway
RIGHTSCTL=$PWD/$BUILD_DIR/bin/rightsctl
HELPER=$PWD/$BUILD_DIR/tests/bench/bench_gateway
BENCH_APT_PACKAGES=(nginx-core wrk)
# anvil's account 0 (operator) and 9 (vault admin and guardian); dev only.
OPERATOR_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
ADMIN_ADDRESS=0xa0Ee7A142d267C1f36714E4a8F75612F20a79720

WRK_THREADS=1
WRK_LOADS=(4 32) # wrk -c: a light and a heavy load
WRK_SECONDS=5
WARM_SECONDS=1
REPS=5
SIGNIN_CONNS=16
SIGNIN_REPS=3
SIGNIN_REP_MS=2000
ACCESS_DECISIONS=10000
VIEWERS=1000
# The gateway caps connections per client address: the viewers come from
# enough loopback addresses (127.0.0.1, .2, ...) to stay under half the cap each.
GW_THREADS=$(sed -n 's/^#define GW_HTTP_THREADS \([0-9]*\).*/\1/p' services/gateway/server.h)
PER_IP_MAX=$(sed -n 's/^#define GW_CONNECTIONS_PER_IP_MAX \([0-9]*\).*/\1/p' services/gateway/server.h)
[[ $GW_THREADS =~ ^[0-9]+$ && $PER_IP_MAX =~ ^[0-9]+$ ]] || { echo "bench: cannot read services/gateway/server.h" >&2; exit 1; }
VIEWER_SOURCES=$(((VIEWERS + PER_IP_MAX / 2 - 1) / (PER_IP_MAX / 2)))
VIEWERS_MS=10000
FILE_LIMIT=8192 # open files: 1,000 viewers on each side plus the rest

recover_best= recover_median=
while (($#)); do
    case $1 in
    --recover-best) recover_best=$2 && shift 2 ;;
    --recover-median) recover_median=$2 && shift 2 ;;
    --quick)
        WRK_SECONDS=2 WARM_SECONDS=1 REPS=1 SIGNIN_REPS=1 SIGNIN_REP_MS=1000
        ACCESS_DECISIONS=2000 VIEWERS_MS=3000
        shift
        ;;
    *) echo "usage: $0 --recover-best R --recover-median R [--quick]" >&2 && exit 2 ;;
    esac
done
[[ $recover_best =~ ^[0-9.]+$ && $recover_median =~ ^[0-9.]+$ ]] ||
    { echo "bench: gateway.sh needs --recover-best and --recover-median from bench_crypto" >&2; exit 2; }

say() { echo "bench: gateway: $*" >&2; }
die() { echo "bench: gateway: $*" >&2; exit 1; }

# bench_install: installs the missing BENCH_APT_PACKAGES (as root), keeping
# any service from starting; otherwise prints the command and fails.
bench_install() {
    local missing=() p status rc=0
    for p in "${BENCH_APT_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $status == "install ok installed" ]] || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    if [[ $(id -u) -ne 0 ]]; then
        echo "bench: missing Debian packages for the gateway benchmarks; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        return 1
    fi
    if [[ ! -e $POLICY ]]; then
        MADE_POLICY=1
        printf '#!/bin/sh\n# tests/bench/gateway.sh: no service starts during its apt-get install\nexit 101\n' >"$POLICY"
        chmod 755 "$POLICY"
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
    ((MADE_POLICY)) && rm -f "$POLICY"
    MADE_POLICY=0
    return $rc
}

# ---- processes we start (stopped by cleanup) ---------------------------------------------
GW_PID= NGINX_PID= WORK= KEEP_WORK=1 POLICY=/usr/sbin/policy-rc.d MADE_POLICY=0
cleanup() {
    trap '' INT TERM
    ((MADE_POLICY)) && rm -f "$POLICY"
    [[ -n $GW_PID ]] && { kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null; }
    [[ -n $NGINX_PID ]] && { kill "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null; }
    stack_stop_all
    if [[ -n $WORK ]]; then
        stack_pg_remove "$WORK/pg"
        if ((KEEP_WORK)); then
            say "logs kept in $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# pin CPULIST PID...: every thread of each PID to CPULIST (nothing when unpinned).
pin() {
    local cpus=$1 pid
    shift
    [[ -n $cpus ]] || return 0
    for pid in "$@"; do # a process that just exited is fine
        taskset -a -p -c "$cpus" "$pid" >/dev/null 2>&1 || [[ ! -e /proc/$pid ]] || die "cannot pin pid $pid"
    done
}
# Command prefixes that pin what follows: "${SUT_PIN[@]}" CMD runs CMD on the
# server's CPU. They are arrays, not a function, so that `"${SUT_PIN[@]}" CMD &`
# leaves $! the PID of CMD itself (taskset execs it), not of a subshell.
SUT_PIN=() LOAD_PIN=()

# cpu_ticks PID...: user+system clock ticks of the processes (all threads).
cpu_ticks() {
    local pid total=0 f
    for pid in "$@"; do
        f=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
        set -- $f
        total=$((total + ${12} + ${13}))
    done
    echo "$total"
}

# pg_pids: the postmaster and its children (the gateway's sessions among them).
pg_pids() {
    local pm
    pm=$(head -1 "$(readlink -f "$WORK/pg")/data/postmaster.pid")
    echo "$pm" $(pgrep -P "$pm")
}
nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID"); }

# wait_http URL: until URL answers (any status), at most 10 s.
wait_http() {
    local i
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null -m 1 "$1" && return 0
        sleep 0.1
    done
    return 1
}

# ---- URLs: a fresh token or secure_link hash per run (tokens live <= 60 s) ------------------
gw_url() { # PATH (below /hls/)
    local token
    token=$("$HELPER" token --stream "$SEED_STREAM" --viewer "$SEED_VIEWER" --lifetime 60)
    echo "http://127.0.0.1:$GW_PORT/hls/$1?token=$token"
}
nginx_url() { # PATH (below /hls/): secure_link_md5 "$secure_link_expires$uri SECRET"
    local expires md5
    expires=$(($(date +%s) + 60))
    md5=$(printf '%s/hls/%s %s' "$expires" "$1" "$NGINX_SECRET" | openssl md5 -binary |
        openssl base64 | tr '+/' '-_' | tr -d '=')
    echo "http://127.0.0.1:$NGINX_PORT/hls/$1?md5=$md5&expires=$expires"
}

# check_answer SERVER KIND URL: one GET must be 200 with the right body: the
# stored segment byte for byte, nginx's playlist the stored text, the
# gateway's playlist the stored one with a token on every URI.
check_answer() {
    local server=$1 kind=$2 url=$3 out=$WORK/answer code
    code=$(curl -s -o "$out" -w '%{http_code}' "$url")
    [[ $code == 200 ]] || die "$server $kind answered $code: $(head -c 300 "$out")"
    case $server/$kind in
    */segment) cmp -s "$out" "$MEDIA_DIR/$SEED_SEGMENT" || die "$server sent another segment" ;;
    nginx/playlist) cmp -s "$out" "$MEDIA_DIR/$SEED_PLAYLIST" || die "nginx sent another playlist" ;;
    gateway/playlist)
        [[ $(grep -c '^index[0-9]*\.ts?token=p1\.' "$out") == "$SEED_SEGMENTS" ]] ||
            die "the gateway's playlist does not list every segment with a token"
        GW_PLAYLIST_BYTES=$(stat -c %s "$out")
        ;;
    esac
}

# wrk_run URL SECONDS CONNS: prints requests/s of one wrk run; fails on any
# non-2xx answer.
wrk_run() {
    local out
    out=$("${LOAD_PIN[@]}" wrk -t"$WRK_THREADS" -c"$3" -d"$2"s "$1" 2>&1) || die "wrk failed: $out"
    if grep -q 'Non-2xx' <<<"$out"; then
        die "wrk saw answers other than 2xx: $(grep 'Non-2xx' <<<"$out")"
    fi
    if grep -q 'Socket errors' <<<"$out"; then
        SOCKET_ERRORS+="$(grep 'Socket errors' <<<"$out"); "
    fi
    awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

# cpu_snapshot: "busy total" jiffies of the server's CPU and of the load
# CPU (the first one), from /proc/stat (all work on them, softirq included).
cpu_snapshot() {
    awk -v a="cpu${SUT_CPU:-}" -v b="cpu${LOAD_CPUS%%-*}" '
        $1 == a || $1 == b { busy = $2 + $3 + $4 + $7 + $8 + $9; t[$1] = busy " " busy + $5 + $6 }
        END { print t[a], t[b] }' /proc/stat
}

# measure SERVER KIND SECONDS CONNS: one timed wrk run with a fresh URL. Sets
# RPS; SRV_US and PG_US, the CPU time (user + system of the processes,
# softirq not included) per request of the server and of PostgreSQL (0 for
# nginx); SUT_BUSY and LOAD_BUSY, the fraction of the server's CPU and of
# wrk's CPU that was busy.
measure() {
    local server=$1 kind=$2 seconds=$3 conns=$4 url path srv pg s0 s1 p0 p1 c0 c1 t0 t1
    path=$SEED_SEGMENT
    [[ $kind == playlist ]] && path=$SEED_PLAYLIST
    if [[ $server == gateway ]]; then
        url=$(gw_url "$path")
        srv=$GW_PID pg=$(pg_pids)
    else
        url=$(nginx_url "$path")
        srv=$(nginx_pids) pg=
    fi
    check_answer "$server" "$kind" "$url"
    s0=$(cpu_ticks $srv) p0=$(cpu_ticks $pg) c0=$(cpu_snapshot) t0=$(date +%s.%N)
    RPS=$(wrk_run "$url" "$seconds" "$conns")
    t1=$(date +%s.%N) c1=$(cpu_snapshot) p1=$(cpu_ticks $pg) s1=$(cpu_ticks $srv)
    [[ $RPS =~ ^[0-9.]+$ ]] || die "no Requests/sec from wrk for $server $kind"
    read -r SRV_US PG_US SUT_BUSY LOAD_BUSY < <(awk -v s="$((s1 - s0))" -v p="$((p1 - p0))" \
        -v hz="$(getconf CLK_TCK)" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        -v rps="$RPS" -v c0="$c0" -v c1="$c1" 'BEGIN {
            split(c0, x, " "); split(c1, y, " ")
            n = rps * t
            printf "%.0f %.0f %.2f %.2f\n", s / hz / n * 1e6, p / hz / n * 1e6,
                (y[1] - x[1]) / (y[2] - x[2]), (y[3] - x[3]) / (y[4] - x[4])
        }')
}

# eth_calls: how many eth_call requests anvil has logged (a pass balance
# the ownership cache did not know is one).
eth_calls() { grep -c '^eth_call$' "$WORK/anvil.log" || true; }

# stats V...: "best median" of the values (the middle one, the lower of two).
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[NR], v[int((NR + 1) / 2)] }'; }
median() { stats "$@" | cut -d' ' -f2; }

# compare KIND NAME CONNS: a warm-up run of each server, then REPS runs of
# each, alternating (the first server alternates too); prints the bench record.
compare() {
    local kind=$1 name=$2 conns=$3 r server first second
    local gw=() ngx=() gw_srv=() gw_pg=() ngx_srv=() gw_sut=() ngx_sut=() gw_load=() ngx_load=()
    measure gateway "$kind" "$WARM_SECONDS" "$conns"
    measure nginx "$kind" "$WARM_SECONDS" "$conns"
    local calls0
    calls0=$(eth_calls)
    for ((r = 1; r <= REPS; r++)); do
        first=gateway second=nginx
        ((r % 2 == 0)) && first=nginx second=gateway
        for server in $first $second; do
            measure "$server" "$kind" "$WRK_SECONDS" "$conns"
            say "$kind -c$conns rep $r: $server $RPS req/s (CPU busy: server $SUT_BUSY, wrk $LOAD_BUSY)"
            if [[ $server == gateway ]]; then
                gw+=("$RPS") gw_srv+=("$SRV_US") gw_pg+=("$PG_US") gw_sut+=("$SUT_BUSY") gw_load+=("$LOAD_BUSY")
            else
                ngx+=("$RPS") ngx_srv+=("$SRV_US") ngx_sut+=("$SUT_BUSY") ngx_load+=("$LOAD_BUSY")
            fi
        done
    done
    local gs ns calls
    calls=$(($(eth_calls) - calls0))
    gs=($(stats "${gw[@]}"))
    ns=($(stats "${ngx[@]}"))
    awk -v name="$name" -v gb="${gs[0]}" -v gm="${gs[1]}" -v nb="${ns[0]}" -v nm="${ns[1]}" \
        -v reps="$REPS" -v conns="$conns" -v runs="${gw[*]} / ${ngx[*]}" \
        -v gsut="$(median "${gw_sut[@]}")" -v nsut="$(median "${ngx_sut[@]}")" \
        -v gload="$(median "${gw_load[@]}")" -v nload="$(median "${ngx_load[@]}")" \
        -v gsrv="$(median "${gw_srv[@]}")" -v gpg="$(median "${gw_pg[@]}")" \
        -v nsrv="$(median "${ngx_srv[@]}")" -v calls="$calls" 'BEGIN {
        printf "bench group=hls name=%s unit=req/s ours=%.1f ref=%.1f ratio=%.3f ", name, gb, nb, gb / nb
        printf "ours_median=%.1f ref_median=%.1f ratio_median=%.3f reps=%d target=1.00 ", gm, nm, gm / nm, reps
        printf "target_text=\"gateway vs nginx secure_link, same wrk load\" "
        printf "detail=\"wrk -c%s. Runs, req/s (gateway / nginx): %s. Medians of the runs, gateway / nginx: ", conns, runs
        printf "busy fraction of the server CPU %.2f / %.2f and of the wrk CPU %.2f / %.2f (everything on that CPU, other processes included); ", gsut, nsut, gload, nload
        printf "process CPU per request (user + system; softirq not counted) gateway %s us + PostgreSQL %s us / nginx %s us. ", gsrv, gpg, nsrv
        printf "eth_call requests anvil saw during the timed runs: %s.\"\n", calls
    }'
}

# start_gateway: starts build/bin/gateway on CPU 0 and waits for /healthz.
start_gateway() {
    GW_PORT=$(stack_free_port) || die "no free port"
    GATEWAY_LISTEN=127.0.0.1:$GW_PORT "${SUT_PIN[@]}" "$GATEWAY" 2>>"$WORK/gateway.log" &
    GW_PID=$!
    wait_http "http://127.0.0.1:$GW_PORT/healthz" || die "the gateway did not answer; see $WORK/gateway.log"
    [[ $(readlink "/proc/$GW_PID/exe") == "$(readlink -f "$GATEWAY")" ]] ||
        die "pid $GW_PID is not the gateway"
    local health
    health=$(curl -s "http://127.0.0.1:$GW_PORT/healthz")
    [[ $health == *'"postgres":"ok"'* || $health == *'"postgres": "ok"'* ]] ||
        die "gateway health: $health"
}

stop_gateway() {
    kill "$GW_PID" && wait "$GW_PID" || true
    GW_PID=
}

# start_nginx: nginx in the foreground with its own prefix, one worker on CPU 0.
start_nginx() {
    local dir=$WORK/nginx user_line=
    mkdir -p "$dir/tmp"
    NGINX_PORT=$(stack_free_port) || die "no free port"
    NGINX_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    [[ $(id -u) -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
    cat >"$dir/nginx.conf" <<CONF
# written by tests/bench/gateway.sh for one benchmark run
$user_line
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log $dir/access.log;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
    default_type application/octet-stream;
    map \$uri \$hls_cache { ~\\.m3u8\$ "no-store"; default "private, max-age=60"; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
        location /hls/ {
            secure_link \$arg_md5,\$arg_expires;
            secure_link_md5 "\$secure_link_expires\$uri $NGINX_SECRET";
            if (\$secure_link = "") { return 403; }
            if (\$secure_link = "0") { return 410; }
            add_header Cache-Control \$hls_cache;
            add_header Referrer-Policy no-referrer;
            add_header X-Content-Type-Options nosniff;
        }
    }
}
CONF
    "${SUT_PIN[@]}" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' &
    NGINX_PID=$!
    wait_http "http://127.0.0.1:$NGINX_PORT/" || die "nginx did not answer; see $dir/error.log"
    [[ $(readlink "/proc/$NGINX_PID/exe") == "$(readlink -f "$(command -v nginx)")" ]] ||
        die "pid $NGINX_PID is not nginx"
}

# ---- setup -------------------------------------------------------------------------------------
[[ -x $GATEWAY && -x $RIGHTSCTL && -x $HELPER ]] || die "build first: make bench"
bench_install || exit 1
command -v nginx >/dev/null && command -v wrk >/dev/null || die "nginx or wrk missing"
if (($(ulimit -n) < FILE_LIMIT)); then ulimit -n "$FILE_LIMIT" 2>/dev/null || ulimit -n "$(ulimit -Hn)"; fi
(($(ulimit -n) >= VIEWERS + 100)) || die "open-file limit $(ulimit -n) is too low for $VIEWERS viewers"

cpus=$(nproc)
if ((cpus >= 2)); then
    SUT_CPU=0 LOAD_CPUS=1
    ((cpus > 2)) && LOAD_CPUS=1-$((cpus - 1))
    SUT_PIN=(taskset -c "$SUT_CPU") LOAD_PIN=(taskset -c "$LOAD_CPUS")
    cpu_text="the server under test (gateway with its PostgreSQL, or nginx) on CPU 0; wrk, the bench clients and anvil on CPU $LOAD_CPUS"
else
    SUT_CPU= LOAD_CPUS=
    cpu_text="one CPU: nothing pinned, the clients share it with the server"
fi

mkdir -p var/bench
WORK=$PWD/var/bench/gw.$$
mkdir -p "$WORK/www/hls"
MEDIA_DIR=$WORK/www/hls
say "starting PostgreSQL and anvil under $WORK"
pg_port=$(stack_free_port) || die "no free port"
stack_pg_start "$WORK/pg" "$pg_port" rights_bench
pin "$SUT_CPU" $(pg_pids)
anvil_port=$(stack_free_port) || die "no free port"
stack_anvil_start "$anvil_port" "$WORK/anvil.log"
pin "$LOAD_CPUS" "$STACK_ANVIL_PID"

export DATABASE_URL=$STACK_PG_URL ETH_RPC_URL=http://127.0.0.1:$anvil_port CHAIN_ID=31337
export OPERATOR_KEY_FILE=$WORK/operator.key AUTH_SECRET_FILE=$WORK/auth.secret
(umask 077 && echo "$OPERATOR_KEY" >"$OPERATOR_KEY_FILE")
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$AUTH_SECRET_FILE")
"$RIGHTSCTL" migrate --dir migrations >&2
VAULT_ADDRESS=$("$RIGHTSCTL" deploy --admin "$ADMIN_ADDRESS" --guardian "$ADMIN_ADDRESS")
export VAULT_ADDRESS MEDIA_DIR SIWE_DOMAIN=localhost:8080 WEB_DIR=$PWD/services/gateway/web
export CONFIRMATIONS=2 LOG_LEVEL=info

say "seeding the stream, its pass and media"
seed_out=$("${LOAD_PIN[@]}" "$HELPER" seed) || die "seed failed"
while IFS='=' read -r key value; do
    [[ $key =~ ^SEED_[A-Z_]+$ && $value =~ ^[A-Za-z0-9./_-]+$ ]] || die "unexpected seed output: $key=$value"
    printf -v "$key" '%s' "$value"
done <<<"$seed_out"

start_gateway
start_nginx
pg_version=$(psql --version | awk '{ print $3 }')
printf 'info gw_nginx="%s" gw_wrk="%s" gw_postgres="%s" gw_cpus="%s" gw_wrk_args="-t%s -c %s -d%ss" gw_reps=%s\n' \
    "$(nginx -v 2>&1 | sed 's,^nginx version: ,,') (Debian $(dpkg-query -W -f='${Version}' nginx-core))" \
    "$(dpkg-query -W -f='${Version}' wrk)" "$pg_version" "$cpu_text" "$WRK_THREADS" "$(IFS=/ && echo "${WRK_LOADS[*]}")" "$WRK_SECONDS" "$REPS"

# ---- gated HLS: gateway vs nginx ---------------------------------------------------------------
SOCKET_ERRORS=
GW_PLAYLIST_BYTES=0
check_answer gateway playlist "$(gw_url "$SEED_PLAYLIST")" # also sizes the rewritten playlist
printf 'group id=hls title="Gated HLS: gateway vs nginx secure_link" ours="build/bin/gateway, GET /hls/{id}/0/... with a playback token in ?token=: a segment is an HMAC check then sendfile; a media playlist re-checks access (token, stream row and pass rules, tips query in PostgreSQL, cached pass balance: the viewer holds a pass minted on anvil) and is rewritten with a fresh token on each of its %s URIs (%s bytes stored, %s bytes sent)" ref="nginx %s (Debian nginx-core), one worker, secure_link with secure_link_md5 of expiry + URI + secret, the same files from disk, sendfile on, the same Cache-Control/Referrer-Policy/nosniff headers; the playlist goes out as stored" note="wrk -t%s at two loads (-c %s connections), %s s runs after a %s s warm-up of each, %s runs each alternating gateway and nginx; every run gets a fresh token or hash (tokens live 60 s) and its first answer is checked (segments byte for byte); a run with any non-2xx answer fails the benchmark. Both servers write an access log. CPUs: %s. Segments are %s bytes (hard links of one file), the playlist %s bytes. The busy fractions of the two CPUs in the notes say which side ran out of CPU: when the wrk CPU is the full one, the ratio measures what each server costs the client as much as the server itself."\n' \
    "$SEED_SEGMENTS" "$SEED_PLAYLIST_BYTES" "$GW_PLAYLIST_BYTES" \
    "$(nginx -v 2>&1 | sed 's,^nginx version: nginx/,,')" \
    "$WRK_THREADS" "$(IFS=/ && echo "${WRK_LOADS[*]}")" "$WRK_SECONDS" "$WARM_SECONDS" "$REPS" "$cpu_text" \
    "$SEED_SEGMENT_BYTES" "$SEED_PLAYLIST_BYTES"
for conns in "${WRK_LOADS[@]}"; do
    say "segments, wrk -c$conns: gateway vs nginx"
    compare segment "hls_segment_2MiB_c$conns" "$conns"
done
for conns in "${WRK_LOADS[@]}"; do
    say "playlists, wrk -c$conns: gateway vs nginx"
    compare playlist "hls_playlist_1KB_c$conns" "$conns"
done
[[ -n $SOCKET_ERRORS ]] && printf 'info gw_wrk_socket_errors="%s"\n' "$SOCKET_ERRORS"

# ---- sign-ins ----------------------------------------------------------------------------------
printf 'group id=signin title="SIWE sign-ins over HTTP vs raw recover" ours="POST /v1/auth/siwe on build/bin/gateway pinned to one CPU (all its %s HTTP threads share it, and PostgreSQL too): JSON body, siwe_verify (parse, checks, recover), the single-use nonce UPDATE in PostgreSQL, a session token, two log lines" ref="the raw libsecp256k1 recover loop on one core, measured by bench_crypto earlier in this run (recover group, best and median)" note="%s keep-alive connections from bench_gateway signin; each message has its own nonce, inserted into auth_nonces before the clock starts (as GET /v1/auth/nonce would), signed by one of 256 keys before the clock starts; every answer must be 200 with a token. A warm-up run sizes the %s timed runs of about %s ms. The in-process siwe_verify row above (siwe group) shows how much of the gap is HTTP, JSON and PostgreSQL. Context row siwe_signin_http_pg_apart: the same with PostgreSQL moved to the clients'"'"' CPU, so that CPU %s holds the gateway alone, as with a database on another host."\n' \
    "$GW_THREADS" \
    "$SIGNIN_CONNS" "$SIGNIN_REPS" "$SIGNIN_REP_MS" "${SUT_CPU:-0}"
say "sign-ins over HTTP"
"${LOAD_PIN[@]}" "$HELPER" signin --port "$GW_PORT" --conns "$SIGNIN_CONNS" --reps "$SIGNIN_REPS" \
    --rep-ms "$SIGNIN_REP_MS" --ref-best "$recover_best" --ref-median "$recover_median"
if [[ -n $SUT_CPU ]]; then
    say "sign-ins over HTTP, PostgreSQL on CPU $LOAD_CPUS"
    pin "$LOAD_CPUS" $(pg_pids)
    "${LOAD_PIN[@]}" "$HELPER" signin --port "$GW_PORT" --conns "$SIGNIN_CONNS" --reps "$SIGNIN_REPS" \
        --rep-ms "$SIGNIN_REP_MS" --ref-best "$recover_best" --ref-median "$recover_median" \
        --name siwe_signin_http_pg_apart --context yes
    pin "$SUT_CPU" $(pg_pids)
fi

# ---- access decisions --------------------------------------------------------------------------
printf 'group id=access title="Warm access decision latency" ours="access_decide() in process (bench_gateway access, on CPU %s) against the real PostgreSQL (on CPU %s): a viewer who holds a pass, whose balance is in the ownership cache after one real balanceOf on anvil, and who has tipped less than the tip rule; the stream has %s tips" ref="none: the target is absolute" note="%s decisions after 500 warm-up ones, each timed alone with CLOCK_MONOTONIC; each must answer pass without a chain call. The second row adds the stream lookup that a playlist fetch also makes (context, no target)."\n' \
    "${LOAD_CPUS:-any}" "${SUT_CPU:-any}" "$SEED_TIPS" "$ACCESS_DECISIONS"
say "access decisions"
"${LOAD_PIN[@]}" "$HELPER" access --stream "$SEED_STREAM" --viewer "$SEED_VIEWER" --count "$ACCESS_DECISIONS"

# ---- memory with 1,000 viewers -----------------------------------------------------------------
say "restarting the gateway for the memory run"
stop_gateway
start_gateway
check_answer gateway playlist "$(gw_url "$SEED_PLAYLIST")" # one warm request
printf 'group id=memory title="Gateway memory with %s concurrent viewers" ours="a freshly started build/bin/gateway (%s HTTP threads, on CPU %s)" ref="none: the target is absolute" note="bench_gateway viewers opens %s keep-alive connections from %s loopback addresses (127.0.0.1-%s; the gateway allows %s per address), each asking in turn for the media playlist and a segment with a playback token, with no pause, and reads /proc/PID/status of the gateway every 100 ms. Every answer must be 200 and every connection must get answers. MB = 10^6 bytes."\n' \
    "$VIEWERS" "$GW_THREADS" \
    "${SUT_CPU:-any}" "$VIEWERS" "$VIEWER_SOURCES" "$VIEWER_SOURCES" \
    "$PER_IP_MAX"
say "$VIEWERS concurrent viewers"
token=$("$HELPER" token --stream "$SEED_STREAM" --viewer "$SEED_VIEWER" --lifetime 60)
"${LOAD_PIN[@]}" "$HELPER" viewers --port "$GW_PORT" --pid "$GW_PID" --conns "$VIEWERS" \
    --sources "$VIEWER_SOURCES" --ms "$VIEWERS_MS" --playlist "$SEED_PLAYLIST" \
    --segment "$SEED_SEGMENT" --segment-bytes "$SEED_SEGMENT_BYTES" --token "$token"
stop_gateway

KEEP_WORK=0
say "done"
