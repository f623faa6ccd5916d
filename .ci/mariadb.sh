#!/usr/bin/env bash
# Starts a throwaway MariaDB server (no systemd) for the tests and prints the env to use it.
# Usage: source .ci/mariadb.sh [DIR]   — exports CALLDESK_TEST_MYSQL_URL and MARIADB_PID.
set -euo pipefail
D="${1:-${TMPDIR:-/tmp}/calldesk-mariadb}"
PORT="${MARIADB_PORT:-3307}"
if ! command -v mariadbd >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mariadb-server >/dev/null
fi
if [ -f "$D/mysqld.pid" ] && kill -0 "$(cat "$D/mysqld.pid")" 2>/dev/null; then
  echo "mariadb already running in $D"
else
  rm -rf "$D"; mkdir -p "$D"
  mariadb-install-db --user=root --datadir="$D/data" --auth-root-authentication-method=normal --skip-test-db >"$D/install.log" 2>&1
  (mariadbd --user=root --datadir="$D/data" --socket="$D/mysqld.sock" --pid-file="$D/mysqld.pid" \
      --port="$PORT" --bind-address=127.0.0.1 --max-connections=500 >"$D/server.log" 2>&1 &)
  for _ in $(seq 1 60); do
    mariadb-admin --socket="$D/mysqld.sock" ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb-admin --socket="$D/mysqld.sock" ping >/dev/null
  mariadb --socket="$D/mysqld.sock" -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'calldesk'@'127.0.0.1' IDENTIFIED BY 'calldesk-test';
CREATE USER IF NOT EXISTS 'calldesk'@'localhost' IDENTIFIED BY 'calldesk-test';
GRANT ALL PRIVILEGES ON *.* TO 'calldesk'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'calldesk'@'localhost';
FLUSH PRIVILEGES;
SQL
fi
export MARIADB_DIR="$D"
export MARIADB_PID="$(cat "$D/mysqld.pid")"
# The tests create one fresh database per test from this server URL (no database name).
export CALLDESK_TEST_MYSQL_URL="mysql://calldesk:calldesk-test@127.0.0.1:${PORT}"
