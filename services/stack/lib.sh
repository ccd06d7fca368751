# lib.sh - shell functions shared by `make run` (run.sh) and `make test`
# (tests/run.sh) to start and stop a private PostgreSQL cluster and an anvil
# chain. Source it; it defines functions only.
#
# Ownership: each started process is owned by the script that started it and
# is stopped by stack_stop_all (pg_ctl stop for PostgreSQL, because pg_ctl
# puts the postmaster in its own session where Ctrl-C does not reach it).

STACK_TOOLS_BIN=${STACK_TOOLS_BIN:-$PWD/.tools/node_modules/.bin}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
STACK_PG_DIRS=()
STACK_PIDS=()

stack_log() { printf 'ts=%s level=info svc=stack msg="%s"\n' "$(date -u +%FT%TZ)" "$*" >&2; }
stack_die() { printf 'ts=%s level=error svc=stack msg="%s"\n' "$(date -u +%FT%TZ)" "$*" >&2; exit 1; }

# stack_port_free PORT: true when nothing listens on 127.0.0.1:PORT.
# stack_port_free PORT: nothing listens on PORT and no socket in any state
# (a client's ephemeral end, TIME_WAIT) holds it, so a server can bind it.
stack_port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || return 1
    local hex
    hex=$(printf ':%04X ' "$1")
    ! grep -qs -- "^ *[0-9]*: [0-9A-F]*$hex" /proc/net/tcp /proc/net/tcp6
}

# stack_free_port: prints a currently free TCP port in 20000..32767, below
# Linux's default ephemeral range (32768..60999), so that an outgoing
# connection cannot take it between this check and the server's bind.
stack_free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12768))
        stack_port_free "$p" && { echo "$p"; return 0; }
    done
    return 1
}

# stack_as_pg CMD...: runs CMD as the postgres OS user when we are root
# (initdb refuses root), else as ourselves.
stack_as_pg() {
    if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# stack_pg_dir DIR: creates DIR for a cluster. When we are root and the
# postgres user cannot reach DIR (a checkout under /root, say), or DIR is too
# long for a unix socket path (107 bytes), the cluster lives in a private
# directory under /var/tmp and DIR is a symlink to it.
stack_pg_dir() {
    local dir=$1 parent real
    [[ -e "$dir" ]] && return 0
    mkdir -p "$(dirname "$dir")"
    parent=$(cd "$(dirname "$dir")" && pwd)
    if [[ $(id -u) -eq 0 ]] && { ! runuser -u postgres -- test -x "$parent" || ((${#parent} > 80)); }; then
        real=$(mktemp -d /var/tmp/rights-pg.XXXXXX)
        ln -s "$real" "$dir"
    else
        mkdir -p "$dir"
    fi
}

# stack_pg_start DIR PORT DBNAME: creates (once) and starts a cluster in DIR
# with its unix socket in DIR and TCP on 127.0.0.1:PORT, scram password auth.
# Sets STACK_PG_URL to the libpq URL of DBNAME. Do not call it in a subshell:
# the cluster must be registered for stack_stop_all.
stack_pg_start() {
    local dir=$1 port=$2 db=$3
    [[ -x "$PG_BIN/initdb" ]] || stack_die "postgresql server binaries not found under /usr/lib/postgresql"
    stack_pg_dir "$dir"
    dir=$(cd "$dir" && pwd -P)
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/"
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/password"
        chmod 600 "$dir/password"
        [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/password"
        stack_as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 \
            --pwfile="$dir/password" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
            stack_die "initdb failed, see $dir/initdb.log"
    fi
    stack_as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
        stack_die "postgres failed to start, see $dir/postgres.log"
    STACK_PG_DIRS+=("$dir")
    local pw
    pw=$(cat "$dir/password")
    if ! PGPASSWORD=$pw psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
        PGPASSWORD=$pw psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $db" ||
            stack_die "cannot create database $db"
    fi
    STACK_PG_URL="postgresql://postgres:$pw@127.0.0.1:$port/$db"
}

# stack_psql URL ARGS...: psql on the libpq URL, with the URL's password
# (percent-decoded) in PGPASSWORD instead of on the command line.
stack_psql() {
    local url=$1 pw=
    shift
    if [[ $url =~ ^(postgres(ql)?://[^:@/]*):([^@/]*)@(.*)$ ]]; then
        pw=$(printf '%b' "${BASH_REMATCH[3]//%/\\x}")
        url=${BASH_REMATCH[1]}@${BASH_REMATCH[4]}
    fi
    if [[ -n $pw ]]; then
        PGPASSWORD=$pw PGCONNECT_TIMEOUT=10 psql -X -v ON_ERROR_STOP=1 -d "$url" "$@"
    else
        PGCONNECT_TIMEOUT=10 psql -X -v ON_ERROR_STOP=1 -d "$url" "$@"
    fi
}

# stack_pg_remove DIR: deletes a stopped cluster made by stack_pg_dir,
# including the /var/tmp directory behind a symlink.
stack_pg_remove() {
    local dir=$1
    if [[ -L "$dir" ]]; then
        rm -rf "$(readlink -f "$dir")"
    fi
    rm -rf "$dir"
}

stack_pg_stop() {
    local dir=$1
    [[ -f "$dir/data/postmaster.pid" ]] || return 0
    stack_as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

# stack_anvil_start PORT LOGFILE: starts anvil (chain 31337) and waits until
# it answers eth_chainId. Sets STACK_ANVIL_PID.
stack_anvil_start() {
    local port=$1 log=$2 i
    "$STACK_TOOLS_BIN/anvil" --host 127.0.0.1 --port "$port" --chain-id 31337 >"$log" 2>&1 &
    STACK_ANVIL_PID=$!
    STACK_PIDS+=("$STACK_ANVIL_PID")
    for ((i = 0; i < 100; i++)); do
        if curl -sf -m 1 -H 'content-type: application/json' \
            -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' \
            "http://127.0.0.1:$port" 2>/dev/null | grep -q '"0x7a69"'; then
            return 0
        fi
        kill -0 "$STACK_ANVIL_PID" 2>/dev/null || stack_die "anvil exited, see $log"
        sleep 0.1
    done
    stack_die "anvil did not answer on port $port, see $log"
}

# stack_pid_running PID: PID exists and has not exited (a zombie has).
stack_pid_running() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n $state && $state != Z* ]]
}

# stack_stop_pid PID SECONDS: stops a child of this shell that leads its own
# process group (started with setsid): SIGTERM to PID, up to SECONDS for it to
# exit, then SIGKILL to the whole group (so a grandchild such as ffmpeg cannot
# outlive it). Reaps PID.
stack_stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < $2 * 10; i++)); do
        stack_pid_running "$pid" || break
        sleep 0.1
    done
    if stack_pid_running "$pid"; then
        stack_log "pid $pid did not stop within $2 s: killing its process group"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# stack_stop_all: stops every process and cluster started above. Safe to call
# twice; ignores INT/TERM while it runs so a second Ctrl-C cannot cut it short.
stack_stop_all() {
    trap '' INT TERM
    local pid dir
    for pid in "${STACK_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${STACK_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    STACK_PIDS=()
    for dir in "${STACK_PG_DIRS[@]}"; do
        stack_pg_stop "$dir"
    done
    STACK_PG_DIRS=()
}
