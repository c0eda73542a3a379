#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for the suite: one database `hpf`, one schema and one login
# role per service, each role with rights on its own schema only. Usage: pg.sh start|stop|psql
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"

psql_admin() { PGOPTIONS='-c client_min_messages=warning' as_pg "$PG_BIN/psql" -h "$PGDATA_DIR" -p "$HPF_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

start() {
  mkdir -p "$HPF_STATE"
  chmod 755 "$HPF_STATE"
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    mkdir -p "$PGDATA_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PGDATA_DIR"
    chmod 700 "$PGDATA_DIR"
    as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $HPF_PG_PORT
unix_socket_directories = '$PGDATA_DIR'
max_connections = 1000
shared_buffers = 256MB
# Bulk jobs (the annual subsidy, the interest settlement) write gigabytes of WAL: with the 1 GB
# default, checkpoints came every ~10 s and each one's full-page images doubled the writing.
max_wal_size = 4GB
checkpoint_timeout = 15min
CONF
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -o "-p $HPF_PG_PORT" start >/dev/null
  fi
  provision
  echo "postgres up on 127.0.0.1:$HPF_PG_PORT (data $PGDATA_DIR)"
}

provision() {
  psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'hpf'" | grep -q 1 \
    || psql_admin -d postgres -c "CREATE DATABASE hpf"
  # Nobody gets anything by default (no temporary tables either, but for the schema owners); each service gets its own
  # schema, owned by <schema>_owner, which only migrations use; the service's own role gets data
  # rights from the migrator at every start (development passwords = role names).
  psql_admin -d hpf -c "REVOKE ALL ON SCHEMA public FROM PUBLIC"
  psql_admin -d hpf -c "REVOKE TEMPORARY ON DATABASE hpf FROM PUBLIC"
  for role in $(for s in $HPF_SERVICES; do schema_of "$s"; done) runtime_test; do
    psql_admin -d hpf <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN PASSWORD '$role';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}_owner') THEN
    CREATE ROLE ${role}_owner LOGIN PASSWORD '${role}_owner';
  END IF;
END \$\$;
CREATE SCHEMA IF NOT EXISTS $role AUTHORIZATION ${role}_owner;
-- A stack made before the owner roles existed: what the service role owned moves to the owner.
ALTER SCHEMA $role OWNER TO ${role}_owner;
REASSIGN OWNED BY $role TO ${role}_owner;
REVOKE ALL ON SCHEMA $role FROM PUBLIC;
GRANT USAGE ON SCHEMA $role TO $role;
-- The owner alone may make temporary tables: a read-model rebuild replays into fresh ones.
GRANT TEMPORARY ON DATABASE hpf TO ${role}_owner;
ALTER ROLE $role SET search_path = $role;
ALTER ROLE ${role}_owner SET search_path = $role;
SQL
  done
}

stop() {
  if [ -f "$PGDATA_DIR/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
    echo "postgres stopped"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  reset) stop; rm -rf "$PGDATA_DIR"; start ;;
  psql) shift; psql_admin -d hpf "$@" ;;
  *) echo "usage: $0 start|stop|reset|psql" >&2; exit 2 ;;
esac
