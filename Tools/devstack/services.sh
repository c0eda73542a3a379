#!/usr/bin/env bash
# Starts or stops the six services as background processes, each with its own database role.
# Usage: services.sh start|stop   (HPF_BUILD=debug|release picks the build, debug by default)
#        services.sh extra <service> <port>   one more instance of a running service on <port>: the
#        same database role and consumer groups, as behind a load balancer (`stop` ends it too,
#        `stop-extra <service> <port>` ends it alone)
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
HPF_BUILD="${HPF_BUILD:-debug}"
bin="$HPF_ROOT/.build/$HPF_BUILD"
logs="$HPF_STATE/logs"

# Starts service $1 on port $2 with its own role, its pid in $3 and its log in $4.
launch() {
  local s="$1" port="$2" pidfile="$3" log="$4" role
  role="$(schema_of "$s")"
  HPF_HTTP_PORT="$port" HPF_PG_USER="$role" HPF_PG_PASSWORD="$role" \
    HPF_PG_PORT="$HPF_PG_PORT" HPF_KAFKA_BROKERS="$HPF_KAFKA_BROKERS" \
    nohup "$bin/$s" >>"$log" 2>&1 &
  echo $! >"$pidfile"
}

# Waits until the instance ($1, for messages) on port $2 answers /ready; fails if its process
# (pid file $3) exits first or it is not ready within a minute (log $4).
await_ready() {
  local name="$1" port="$2" pidfile="$3" log="$4"
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
    alive "$(cat "$pidfile")" || { echo "$name exited; see $log" >&2; tail -n 20 "$log" >&2; exit 1; }
    sleep 0.2
  done
  curl -fs "http://127.0.0.1:$port/ready" >/dev/null || { echo "$name not ready; see $log" >&2; exit 1; }
}

start() {
  mkdir -p "$logs"
  for s in $HPF_SERVICES; do
    pidfile="$HPF_STATE/$s.pid"
    if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then continue; fi
    launch "$s" "$(port_of "$s")" "$pidfile" "$logs/$s.log"
  done
  for s in $HPF_SERVICES; do
    port="$(port_of "$s")"
    await_ready "$s" "$port" "$HPF_STATE/$s.pid" "$logs/$s.log"
    printf '  %-14s http://127.0.0.1:%s  ready\n' "$s" "$port"
  done
}

# One more instance of service $1 on port $2 (its pid file is $HPF_STATE/$1@$2.pid).
extra() {
  local s="$1" port="$2" pidfile="$HPF_STATE/$1@$2.pid"
  if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then echo "$s@$port is already running" >&2; return 0; fi
  mkdir -p "$logs"
  launch "$s" "$port" "$pidfile" "$logs/$s@$port.log"
  await_ready "$s@$port" "$port" "$pidfile" "$logs/$s@$port.log"
  printf '  %-14s http://127.0.0.1:%s  ready (another instance)\n' "$s" "$port"
}

# Ends the process of a pid file. SIGTERM: graceful shutdown flushes the producer and leaves the
# consumer group cleanly; after 5 s, SIGKILL.
end() {
  local pidfile="$1"
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

stop() {
  for pidfile in "$HPF_STATE"/*@*.pid; do end "$pidfile"; done
  for s in $HPF_SERVICES; do end "$HPF_STATE/$s.pid"; done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  extra|stop-extra)
    [ -n "${2-}" ] && [ -n "${3-}" ] || { echo "usage: $0 $1 <service> <port>" >&2; exit 2; }
    if [ "$1" = extra ]; then extra "$2" "$3"; else end "$HPF_STATE/$2@$3.pid"; fi ;;
  *) echo "usage: $0 start|stop|extra <service> <port>|stop-extra <service> <port>" >&2; exit 2 ;;
esac
