#!/usr/bin/env bash
# A 3-node MariaDB Galera cluster on one machine, for trying calldesk against Galera (docs/galera.md).
# Not a production layout: all three nodes share one disk, one CPU and one failure.
#
# Needs mariadb-server (Debian's pulls galera-4: /usr/lib/galera/libgalera_smm.so), rsync (the
# state transfer to a joining node) and root to start it. The nodes run as the `mysql` account
# (RUN_AS): a joiner's rsync daemon started by a root mariadbd would write as `nobody` and fail.
#
#   contrib/galera/one-machine.sh start          # bootstrap node 1, join 2 and 3; creates user+db
#   contrib/galera/one-machine.sh status         # each node: cluster size, state, increment/offset
#   contrib/galera/one-machine.sh url [N]        # DATABASE_URL of node N (default 1)
#   contrib/galera/one-machine.sh kill N         # SIGKILL node N (a crashed node)
#   contrib/galera/one-machine.sh stop-node N    # clean shutdown of node N
#   contrib/galera/one-machine.sh start-node N   # (re)join node N (IST or SST from a live node)
#   contrib/galera/one-machine.sh stop           # stop every node
#   contrib/galera/one-machine.sh clean          # stop and delete the data folders
#
# Node N listens for SQL on 127.0.0.1:$((BASE_PORT+N)) (3361..3363), for the cluster on
# 4567+10(N-1), IST +1, SST +2. GALERA_DIR (default /tmp/calldesk-galera) holds everything.
set -euo pipefail

DIR=${GALERA_DIR:-/tmp/calldesk-galera}
BASE_PORT=${BASE_PORT:-3360}
NODES=3
PASS=${GALERA_PASS:-galera-test}
PROVIDER=${WSREP_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
RUN_AS=${RUN_AS:-mysql}

gport() { echo $((4567 + 10 * ($1 - 1))); }
sqlport() { echo $((BASE_PORT + $1)); }
ndir() { echo "$DIR/node$1"; }
sock() { echo "$(ndir "$1")/mysqld.sock"; }
pidof_node() { cat "$(ndir "$1")/mysqld.pid" 2>/dev/null || true; }
sql() { local n=$1; shift; mariadb --socket="$(sock "$n")" -uroot -N -B "$@"; }

cluster_address() {
    local a="" n
    for n in $(seq 1 $NODES); do a+="${a:+,}127.0.0.1:$(gport "$n")"; done
    echo "gcomm://$a"
}

write_cnf() {
    local n=$1 d g
    d=$(ndir "$n")
    g=$(gport "$n")
    mkdir -p "$d/data" "$d/tmp"
    chown -R "$RUN_AS" "$d"
    cat > "$d/my.cnf" <<EOF
[mysqld]
user=$RUN_AS
datadir=$d/data
tmpdir=$d/tmp
socket=$d/mysqld.sock
pid-file=$d/mysqld.pid
log-error=$d/server.log
port=$(sqlport "$n")
bind-address=127.0.0.1
skip-name-resolve
innodb_buffer_pool_size=64M
innodb_log_file_size=16M
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=calldesk-one-machine
wsrep_cluster_address=$(cluster_address)
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:$g
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$g;ist.recv_addr=127.0.0.1:$((g + 1));gcache.size=64M"
# wsrep_sync_wait is left at its default (0): calldesk sets it on its own connections
# (docs/galera.md, run C).
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$((g + 2))
EOF
}

wait_synced() {
    local n=$1 i state
    for i in $(seq 1 120); do
        state=$(sql "$n" -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2 || true)
        if [ "$state" = "Synced" ]; then return 0; fi
        sleep 0.5
    done
    echo "node $n is not Synced after 60 s (state '${state:-no answer}'); see $(ndir "$n")/server.log" >&2
    return 1
}

start_node() {
    local n=$1 first=${2:-}
    write_cnf "$n"
    # Only the first node is installed; the others receive its data by state transfer (SST).
    if [ -n "$first" ] && [ ! -d "$(ndir "$n")/data/mysql" ]; then
        mariadb-install-db --defaults-file="$(ndir "$n")/my.cnf" --auth-root-authentication-method=normal \
            --skip-test-db > "$(ndir "$n")/install.log" 2>&1
    fi
    # shellcheck disable=SC2086
    setsid mariadbd --defaults-file="$(ndir "$n")/my.cnf" $first < /dev/null > /dev/null 2>&1 &
    wait_synced "$n"
    echo "node $n synced on 127.0.0.1:$(sqlport "$n")"
}

stop_node() {
    local n=$1 pid
    pid=$(pidof_node "$n")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    echo "node $n stopped"
}

kill_node() {
    local n=$1 pid
    pid=$(pidof_node "$n")
    [ -n "$pid" ] || { echo "node $n is not running" >&2; return 1; }
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    echo "node $n killed (pid $pid) at $(date +%T.%N | cut -c1-12)"
}

status() {
    local n
    for n in $(seq 1 $NODES); do
        local line
        line=$(sql "$n" -e "SELECT CONCAT('size ', VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='WSREP_CLUSTER_SIZE';
                     SELECT CONCAT(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='WSREP_LOCAL_STATE_COMMENT';
                     SELECT CONCAT('increment ', @@auto_increment_increment, ' offset ', @@auto_increment_offset)" 2>/dev/null \
            | paste -sd ' ' || true)
        echo "node $n (port $(sqlport "$n")): ${line:-down}"
    done
}

case "${1:-}" in
    start)
        mkdir -p "$DIR"
        chown "$RUN_AS" "$DIR"
        if [ -f "$(ndir 1)/data/grastate.dat" ]; then
            # A stopped cluster restarts from the node that may bootstrap (all were stopped cleanly).
            sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$(ndir 1)/data/grastate.dat"
        fi
        start_node 1 --wsrep-new-cluster
        sql 1 -e "CREATE DATABASE IF NOT EXISTS calldesk CHARACTER SET utf8mb4;
                  CREATE USER IF NOT EXISTS 'calldesk'@'127.0.0.1' IDENTIFIED BY '$PASS';
                  GRANT ALL PRIVILEGES ON *.* TO 'calldesk'@'127.0.0.1';"
        for n in $(seq 2 $NODES); do start_node "$n"; done
        status
        ;;
    start-node) start_node "$2" ;;
    stop-node) stop_node "$2" ;;
    kill) kill_node "$2" ;;
    status) status ;;
    url) echo "mysql://calldesk:$PASS@127.0.0.1:$(sqlport "${2:-1}")/calldesk" ;;
    stop) for n in $(seq $NODES -1 1); do stop_node "$n"; done ;;
    clean)
        for n in $(seq $NODES -1 1); do stop_node "$n"; done
        rm -rf "$DIR"
        echo "removed $DIR"
        ;;
    *) sed -n '2,18p' "$0"; exit 2 ;;
esac
