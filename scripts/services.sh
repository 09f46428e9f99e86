#!/usr/bin/env bash
# Real PostgreSQL, MariaDB, Redis and RabbitMQ servers on 127.0.0.1 for the template's tests.
# Made for a bare Debian 12 machine running as root without systemd: missing servers are installed
# from Debian packages, each runs as a private instance under one state directory, on a non-default
# port, so it never collides with a system-wide server.
#
#   scripts/services.sh up   [NAME...]   install if needed, start, wait until ready; print export lines
#   scripts/services.sh down [NAME...]   stop (by the server's own tool, then by PID)
#   scripts/services.sh env              print export lines for the servers that are running
#
# NAME: postgresql mariadb redis rabbitmq (none = all four). Only `export TEST_<NAME>_URL=...` lines go
# to stdout (also written to $SERVICES_DIR/env), so `eval "$(scripts/services.sh up redis)"` works;
# progress goes to stderr.
#
# Environment: SERVICES_DIR (default /tmp/fastapi-template-services), PG_PORT (55432),
# MARIADB_PORT (53306), REDIS_PORT (56379), RABBITMQ_PORT (55672), RABBITMQ_DIST_PORT (55673),
# SERVICES_TIMEOUT (seconds to wait for each server, 60).
set -euo pipefail

ALL_SERVICES=(postgresql mariadb redis rabbitmq)

PG_PORT="${PG_PORT:-55432}"
MARIADB_PORT="${MARIADB_PORT:-53306}"
REDIS_PORT="${REDIS_PORT:-56379}"
RABBITMQ_PORT="${RABBITMQ_PORT:-55672}"
# Erlang distribution defaults to AMQP port + 20000, which is past 65535 for 55672: pin it.
RABBITMQ_DIST_PORT="${RABBITMQ_DIST_PORT:-$((RABBITMQ_PORT + 1))}"
TIMEOUT="${SERVICES_TIMEOUT:-60}"
# Absolute: the servers run as other users from other working directories.
SERVICES_DIR="$(realpath -m "${SERVICES_DIR:-/tmp/fastapi-template-services}")"
# Debian puts daemons and their admin tools in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export DEBIAN_FRONTEND=noninteractive
# `localhost` always resolves, unlike the machine's hostname; every rabbitmqctl call names this node.
RABBIT_NODE=rabbit@localhost

# Everything that is not an export line goes to stderr; fd 3 is the real stdout.
# Gotcha: a daemon that inherits fd 3 (or a captured stderr, or the lock fd 9) keeps the caller's
# pipe open, so `$(services.sh up)` would never return and the next `up` would wait for the lock
# forever: every start below closes 3 and 9 and sends stdout/stderr to a log file.
exec 3>&1 1>&2

log() { echo "services: $*"; }
die() { echo "services: error: $*"; exit 1; }

usage() {
    echo "usage: $0 up [NAME...] | down [NAME...] | env   (NAME: ${ALL_SERVICES[*]})"
    exit 2
}

# ---------------------------------------------------------------------------------------------------
# Helpers

# pid_alive PIDFILE COMM: true if the pid in PIDFILE runs a process named COMM. Checking the name
# guards against a stale pid file whose number now belongs to an unrelated process.
pid_alive() {
    local pid
    [[ -r $1 ]] || return 1
    pid="$(head -n1 "$1" 2>/dev/null | tr -dc 0-9)"
    [[ -n $pid ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] && proc_running "$pid"
}

pid_of() { head -n1 "$1" 2>/dev/null | tr -dc 0-9; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 5<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Refuse to start when a foreign process already holds the port: the URL would point at it.
port_free_or_die() {
    if port_open "$1"; then
        die "$2: port 127.0.0.1:$1 is already in use by another process (set $3 to choose another)"
    fi
}

# wait_until DEADLINE_SECONDS PIDFILE COMM LOGFILE NAME -- COMMAND...: poll COMMAND until it succeeds;
# give up early if the server process died, and show the log tail either way.
wait_until() {
    local secs=$1 pidfile=$2 comm=$3 logfile=$4 name=$5
    shift 6
    local end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= end)); then
            show_log "$logfile"
            die "$name did not answer within ${secs}s"
        fi
        # The pid file may not exist yet right after the launch; only a dead pid is fatal.
        if [[ -s $pidfile ]] && ! pid_alive "$pidfile" "$comm"; then
            show_log "$logfile"
            die "$name exited during start-up"
        fi
        sleep 0.2
    done
}

show_log() {
    [[ -r $1 ]] || return 0
    echo "----- last lines of $1 -----"
    tail -n 30 "$1"
    echo "-----"
}

# proc_running PID: the process exists and is not a zombie. Gotcha: daemons are re-parented to PID 1,
# which may reap them late (seconds, here), and `kill -0` succeeds on a zombie.
proc_running() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ -n $stat && ${stat:0:1} != Z ]]
}

# wait_gone PID SECONDS: wait for a process to exit; false if it is still there.
wait_gone() {
    local end=$((SECONDS + $2))
    while proc_running "$1"; do
        ((SECONDS < end)) || return 1
        sleep 0.2
    done
}

# stop_pid NAME PIDFILE COMM: last resort after the server's own tool; only touches the pid we
# started (verified by name), TERM first, KILL only after the bounded wait.
stop_pid() {
    local name=$1 pidfile=$2 comm=$3 pid
    pid_alive "$pidfile" "$comm" || return 0
    pid="$(pid_of "$pidfile")"
    log "$name: still running, sending TERM to pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$TIMEOUT"; then
        log "$name: pid $pid ignored TERM for ${TIMEOUT}s, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || die "$name: pid $pid does not exit"
    fi
}

# The servers drop to their own user, which must be able to reach its folder.
check_reachable() {
    local user=$1 dir=$2
    runuser -u "$user" -- test -x "$dir" ||
        die "user $user cannot reach $dir: choose a SERVICES_DIR whose parents are world-searchable (e.g. under /tmp)"
}

newest_pg_bin() {
    local d
    d="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 3 -path '*/bin/pg_ctl' 2>/dev/null | sort -V | tail -n1)"
    [[ -n $d ]] && dirname "$d"
}

# Debian package that provides a server's binaries, or nothing when they are there.
missing_package() {
    case $1 in
        postgresql) [[ -n "$(newest_pg_bin)" ]] || echo postgresql ;;
        mariadb) command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null &&
            command -v mariadb-admin >/dev/null && command -v mariadb >/dev/null || echo mariadb-server ;;
        redis) command -v redis-server >/dev/null && command -v redis-cli >/dev/null || echo redis-server ;;
        rabbitmq) command -v rabbitmq-server >/dev/null && command -v rabbitmqctl >/dev/null &&
            command -v epmd >/dev/null || echo rabbitmq-server ;;
    esac
}

install_missing() {
    local pkgs=() name pkg
    for name in "$@"; do
        pkg="$(missing_package "$name")"
        [[ -z $pkg ]] || pkgs+=("$pkg")
    done
    ((${#pkgs[@]})) || return 0
    ((EUID == 0)) || die "installing ${pkgs[*]} needs root"
    log "installing ${pkgs[*]}"
    # Without systemd the packages' maintainer scripts do not start a system-wide server.
    apt-get update -q
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${pkgs[@]}"
    for name in "$@"; do
        [[ -z "$(missing_package "$name")" ]] || die "$name: binaries still missing after installing"
    done
}

# ---------------------------------------------------------------------------------------------------
# PostgreSQL: a private cluster run as user postgres (it refuses root). Trust auth on loopback only.

pg_dir() { echo "$SERVICES_DIR/postgresql"; }
pg_pidfile() { echo "$(pg_dir)/data/postmaster.pid"; }
postgresql_running() { pid_alive "$(pg_pidfile)" postgres; }
postgresql_url() { echo "postgresql://postgres@127.0.0.1:$(cat "$(pg_dir)/port")/postgres"; }

postgresql_up() {
    local d bin version
    d="$(pg_dir)"
    if postgresql_running; then
        log "postgresql: already running (pid $(pid_of "$(pg_pidfile)"))"
        return 0
    fi
    bin="$(newest_pg_bin)"
    version="$(basename "$(dirname "$bin")")"
    port_free_or_die "$PG_PORT" postgresql PG_PORT
    install -d -m 755 "$d"
    install -d -o postgres -g postgres -m 700 "$d/run"
    check_reachable postgres "$d"
    # A data dir from another major version cannot be started by this one; it only holds test data.
    if [[ -f $d/data/PG_VERSION && "$(cat "$d/data/PG_VERSION")" != "$version" ]]; then
        log "postgresql: data dir is from version $(cat "$d/data/PG_VERSION"), re-creating it for $version"
        rm -rf "$d/data"
    fi
    if [[ ! -f $d/data/PG_VERSION ]]; then
        rm -rf "$d/data"
        install -d -o postgres -g postgres -m 700 "$d/data"
        log "postgresql: initdb ($version)"
        runuser -u postgres -- "$bin/initdb" -D "$d/data" -U postgres --auth=trust -E UTF8 \
            --no-instructions >"$d/initdb.log" 2>&1 3>&- 9>&- || {
            show_log "$d/initdb.log"
            die "postgresql: initdb failed"
        }
    fi
    touch "$d/server.log" && chown postgres:postgres "$d/server.log"
    echo "$PG_PORT" >"$d/port"
    log "postgresql: starting on 127.0.0.1:$PG_PORT"
    # fsync and friends off: test data is disposable and this makes schema churn much faster.
    # The socket lives in our folder: the Debian default /run/postgresql may not exist here.
    runuser -u postgres -- "$bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t "$TIMEOUT" start \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $d/run -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        >"$d/pg_ctl.log" 2>&1 3>&- 9>&- || {
        show_log "$d/pg_ctl.log"
        show_log "$d/server.log"
        die "postgresql: pg_ctl start failed"
    }
    wait_until "$TIMEOUT" "$(pg_pidfile)" postgres "$d/server.log" postgresql -- \
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
}

postgresql_down() {
    local d bin
    d="$(pg_dir)"
    postgresql_running || return 0
    bin="$(newest_pg_bin)"
    log "postgresql: stopping"
    # The running server may be an older major version than the newest installed one.
    if [[ -f $d/data/PG_VERSION && -x /usr/lib/postgresql/$(cat "$d/data/PG_VERSION")/bin/pg_ctl ]]; then
        bin="/usr/lib/postgresql/$(cat "$d/data/PG_VERSION")/bin"
    fi
    runuser -u postgres -- "$bin/pg_ctl" -D "$d/data" -m fast -w -t "$TIMEOUT" stop 3>&- 9>&- || true
    stop_pid postgresql "$(pg_pidfile)" postgres
}

# ---------------------------------------------------------------------------------------------------
# MariaDB: a private instance run as user mysql (mariadbd refuses root). --no-defaults keeps the
# system's /etc/mysql settings (socket, pid file, binlog) out of it. root logs in over the socket only;
# TCP clients use app/app.

mariadb_dir() { echo "$SERVICES_DIR/mariadb"; }
mariadb_pidfile() { echo "$(mariadb_dir)/run/mariadbd.pid"; }
mariadb_socket() { echo "$(mariadb_dir)/run/mariadbd.sock"; }
mariadb_running() { pid_alive "$(mariadb_pidfile)" mariadbd; }
mariadb_url() { echo "mysql://app:app@127.0.0.1:$(cat "$(mariadb_dir)/port")/mysql"; }

mariadb_up() {
    local d
    d="$(mariadb_dir)"
    if mariadb_running; then
        log "mariadb: already running (pid $(pid_of "$(mariadb_pidfile)"))"
        return 0
    fi
    port_free_or_die "$MARIADB_PORT" mariadb MARIADB_PORT
    install -d -m 755 "$d"
    install -d -o mysql -g mysql -m 750 "$d/data" "$d/run"
    check_reachable mysql "$d"
    if [[ ! -d $d/data/mysql ]]; then
        log "mariadb: mariadb-install-db"
        mariadb-install-db --no-defaults --user=mysql --datadir="$d/data" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$d/install-db.log" 2>&1 3>&- 9>&- || {
            show_log "$d/install-db.log"
            die "mariadb: mariadb-install-db failed"
        }
    fi
    rm -f "$(mariadb_pidfile)"
    echo "$MARIADB_PORT" >"$d/port"
    log "mariadb: starting on 127.0.0.1:$MARIADB_PORT"
    # setsid + nohup: the server outlives this script and the caller's process group.
    # skip-name-resolve: 127.0.0.1 stays 127.0.0.1 (matches 'app'@'127.0.0.1', no DNS lookups).
    # Character set as Debian's own config would give (we skip that config).
    setsid nohup mariadbd --no-defaults --user=mysql --datadir="$d/data" \
        --bind-address=127.0.0.1 --port="$MARIADB_PORT" --socket="$(mariadb_socket)" \
        --pid-file="$(mariadb_pidfile)" --skip-log-bin --skip-name-resolve \
        --innodb-flush-log-at-trx-commit=0 --max-connections=200 \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        </dev/null >>"$d/server.log" 2>&1 3>&- 9>&- &
    local launcher=$!
    disown "$launcher" 2>/dev/null || true
    local end=$((SECONDS + TIMEOUT))
    until mariadb-admin --no-defaults --socket="$(mariadb_socket)" --connect-timeout=2 ping >/dev/null 2>&1; do
        if ((SECONDS >= end)); then
            show_log "$d/server.log"
            die "mariadb did not answer within ${TIMEOUT}s"
        fi
        if ! proc_running "$launcher" && ! mariadb_running; then
            show_log "$d/server.log"
            die "mariadb exited during start-up"
        fi
        sleep 0.2
    done
    mariadb --no-defaults --socket="$(mariadb_socket)" -u root -e \
        "CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY 'app';
         GRANT ALL PRIVILEGES ON *.* TO 'app'@'127.0.0.1' WITH GRANT OPTION;" ||
        die "mariadb: could not create user app"
    wait_until "$TIMEOUT" "$(mariadb_pidfile)" mariadbd "$d/server.log" mariadb -- \
        mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u app -papp -e 'SELECT 1'
}

mariadb_down() {
    local d pid
    d="$(mariadb_dir)"
    mariadb_running || return 0
    pid="$(pid_of "$(mariadb_pidfile)")"
    log "mariadb: stopping"
    timeout "$TIMEOUT" mariadb-admin --no-defaults --socket="$(mariadb_socket)" shutdown 3>&- 9>&- || true
    wait_gone "$pid" "$TIMEOUT" || true
    stop_pid mariadb "$(mariadb_pidfile)" mariadbd
}

# ---------------------------------------------------------------------------------------------------
# Redis: runs fine as root; no persistence, it is a cache for the tests.

redis_dir() { echo "$SERVICES_DIR/redis"; }
redis_pidfile() { echo "$(redis_dir)/redis.pid"; }
redis_running() { pid_alive "$(redis_pidfile)" redis-server; }
redis_url() { echo "redis://127.0.0.1:$(cat "$(redis_dir)/port")/0"; }

redis_up() {
    local d
    d="$(redis_dir)"
    if redis_running; then
        log "redis: already running (pid $(pid_of "$(redis_pidfile)"))"
        return 0
    fi
    port_free_or_die "$REDIS_PORT" redis REDIS_PORT
    install -d -m 755 "$d"
    rm -f "$(redis_pidfile)"
    echo "$REDIS_PORT" >"$d/port"
    log "redis: starting on 127.0.0.1:$REDIS_PORT"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --dir "$d" --pidfile "$(redis_pidfile)" --logfile "$d/server.log" \
        </dev/null >"$d/start.log" 2>&1 3>&- 9>&- || {
        show_log "$d/start.log"
        show_log "$d/server.log"
        die "redis: redis-server failed to start"
    }
    wait_until "$TIMEOUT" "$(redis_pidfile)" redis-server "$d/server.log" redis -- \
        redis_ping "$REDIS_PORT"
}

redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]; }

redis_down() {
    local d pid
    d="$(redis_dir)"
    redis_running || return 0
    pid="$(pid_of "$(redis_pidfile)")"
    log "redis: stopping"
    timeout 10 redis-cli -h 127.0.0.1 -p "$(cat "$d/port")" shutdown nosave >/dev/null 2>&1 3>&- 9>&- || true
    wait_gone "$pid" "$TIMEOUT" || true
    stop_pid redis "$(redis_pidfile)" redis-server
}

# ---------------------------------------------------------------------------------------------------
# RabbitMQ: the Debian wrappers (/usr/sbin/rabbitmq-server, rabbitmqctl) switch from root to user
# rabbitmq with `su`, which keeps our environment but sets HOME=/var/lib/rabbitmq. So the server and
# every CLI call read the same Erlang cookie (/var/lib/rabbitmq/.erlang.cookie) with no copying.
# Gotcha: /usr/lib/rabbitmq/bin/rabbitmqctl run directly as root would use /root/.erlang.cookie and
# fail to authenticate; always go through the wrappers.

rabbitmq_dir() { echo "$SERVICES_DIR/rabbitmq"; }
rabbitmq_pidfile() { echo "$(rabbitmq_dir)/run/rabbitmq.pid"; }
rabbitmq_running() { pid_alive "$(rabbitmq_pidfile)" beam.smp; }
rabbitmq_url() { echo "amqp://guest:guest@127.0.0.1:$(cat "$(rabbitmq_dir)/port")/"; }

# rabbitmq_env AMQP_PORT DIST_PORT: the node's environment, read by the server and by the CLI.
rabbitmq_env() {
    local d
    d="$(rabbitmq_dir)"
    export RABBITMQ_NODENAME="$RABBIT_NODE"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$1"
    export RABBITMQ_DIST_PORT="$2"
    # epmd and Erlang distribution listen on every interface unless told otherwise.
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
    export RABBITMQ_MNESIA_BASE="$d/mnesia"
    export RABBITMQ_LOG_BASE="$d/log"
    export RABBITMQ_PID_FILE="$d/run/rabbitmq.pid"
    # Our own (empty) plugin list: no management plugin (and its port 15672), /etc stays untouched,
    # and boot is faster.
    export RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
}

rabbitmq_up() {
    local d
    d="$(rabbitmq_dir)"
    if rabbitmq_running; then
        log "rabbitmq: already running (pid $(pid_of "$(rabbitmq_pidfile)"))"
        return 0
    fi
    ((RABBITMQ_DIST_PORT <= 65535)) || die "rabbitmq: RABBITMQ_DIST_PORT $RABBITMQ_DIST_PORT is not a valid port"
    port_free_or_die "$RABBITMQ_PORT" rabbitmq RABBITMQ_PORT
    port_free_or_die "$RABBITMQ_DIST_PORT" rabbitmq RABBITMQ_DIST_PORT
    # epmd knows nodes by the part before '@': a system rabbitmq-server (rabbit@HOSTNAME, started by
    # the package on a machine with a runlevel) blocks rabbit@localhost although no port collides.
    if epmd -names 2>/dev/null | grep -q '^name rabbit at '; then
        die "rabbitmq: another Erlang node named 'rabbit' is registered with epmd (a system rabbitmq-server?); stop it first"
    fi
    install -d -m 755 "$d"
    install -d -o rabbitmq -g rabbitmq -m 750 "$d/mnesia" "$d/log" "$d/run"
    check_reachable rabbitmq "$d"
    echo '[].' >"$d/enabled_plugins"
    chmod 644 "$d/enabled_plugins"
    rm -f "$(rabbitmq_pidfile)"
    echo "$RABBITMQ_PORT" >"$d/port"
    echo "$RABBITMQ_DIST_PORT" >"$d/dist_port"
    rabbitmq_env "$RABBITMQ_PORT" "$RABBITMQ_DIST_PORT"
    log "rabbitmq: starting on 127.0.0.1:$RABBITMQ_PORT (distribution port $RABBITMQ_DIST_PORT)"
    rabbitmq-server -detached </dev/null >>"$d/server.log" 2>&1 3>&- 9>&- || {
        show_log "$d/server.log"
        show_log "$d/log/$RABBIT_NODE.log"
        die "rabbitmq: rabbitmq-server -detached failed"
    }
    # await_startup fails at once while the node is not yet registered with epmd, hence the loop;
    # each CLI call costs ~0.5-1 s (it boots an Erlang VM), so poll the pid file and port first.
    wait_until "$TIMEOUT" "$(rabbitmq_pidfile)" beam.smp "$d/log/$RABBIT_NODE.log" rabbitmq -- \
        port_open "$RABBITMQ_PORT"
    wait_until "$TIMEOUT" "$(rabbitmq_pidfile)" beam.smp "$d/log/$RABBIT_NODE.log" rabbitmq -- \
        timeout "$TIMEOUT" rabbitmqctl -q -n "$RABBIT_NODE" await_startup
}

rabbitmq_down() {
    local d pid
    d="$(rabbitmq_dir)"
    if rabbitmq_running; then
        pid="$(pid_of "$(rabbitmq_pidfile)")"
        rabbitmq_env "$(cat "$d/port")" "$(cat "$d/dist_port")"
        log "rabbitmq: stopping"
        # `stop PIDFILE` returns only once the OS process has exited.
        timeout "$TIMEOUT" rabbitmqctl -q -n "$RABBIT_NODE" stop "$(rabbitmq_pidfile)" 3>&- 9>&- || true
        wait_gone "$pid" "$TIMEOUT" || true
        stop_pid rabbitmq "$(rabbitmq_pidfile)" beam.smp
    fi
    # The node started epmd (port 4369) and it outlives the node; stop it only when no other Erlang
    # node is registered, so an unrelated Erlang application keeps its epmd.
    [[ -f $d/port ]] || return 0
    if command -v epmd >/dev/null && epmd -names >/dev/null 2>&1; then
        if ! epmd -names 2>/dev/null | grep -q '^name '; then
            epmd -kill >/dev/null 2>&1 || true
        fi
    fi
}

# ---------------------------------------------------------------------------------------------------

env_lines() {
    local name upper
    for name in "${ALL_SERVICES[@]}"; do
        if "${name}_running"; then
            upper="$(tr '[:lower:]' '[:upper:]' <<<"$name")"
            echo "export TEST_${upper}_URL='$("${name}_url")'"
        fi
    done
}

write_env() {
    local lines
    lines="$(env_lines)"
    if [[ -n $lines ]]; then
        printf '%s\n' "$lines" >"$SERVICES_DIR/env.tmp"
        mv "$SERVICES_DIR/env.tmp" "$SERVICES_DIR/env"
    else
        rm -f "$SERVICES_DIR/env"
    fi
}

# select_names NAME...: sets SELECTED, validated; all four when no name is given.
select_names() {
    local n
    (($#)) || set -- "${ALL_SERVICES[@]}"
    SELECTED=()
    for n in "$@"; do
        [[ " ${ALL_SERVICES[*]} " == *" $n "* ]] || die "unknown server '$n' (known: ${ALL_SERVICES[*]})"
        SELECTED+=("$n")
    done
}

# One `up`/`down` at a time: parallel test workers would otherwise race on apt and the data dirs.
take_lock() {
    install -d -m 755 "$SERVICES_DIR"
    exec 9>"$SERVICES_DIR/.lock"
    flock -w 600 9 || die "another services.sh holds $SERVICES_DIR/.lock"
}

main() {
    (($#)) || usage
    local cmd=$1 name
    shift
    case $cmd in
        up)
            select_names "$@"
            ((EUID == 0)) || die "run as root: the servers are started as their own system users"
            take_lock
            install_missing "${SELECTED[@]}"
            for name in "${SELECTED[@]}"; do "${name}_up"; done
            write_env
            env_lines >&3
            ;;
        down)
            select_names "$@"
            [[ -d $SERVICES_DIR ]] || exit 0
            take_lock
            for name in "${SELECTED[@]}"; do "${name}_down"; done
            write_env
            ;;
        env)
            [[ -d $SERVICES_DIR ]] || exit 0
            env_lines >&3
            ;;
        *) usage ;;
    esac
}

main "$@"
