#!/usr/bin/env bash
# Starts or stops the six services as background processes, each with its own database role.
# Usage: services.sh start|stop   (HPF_BUILD=debug|release picks the build, debug by default)
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
HPF_BUILD="${HPF_BUILD:-debug}"
bin="$HPF_ROOT/.build/$HPF_BUILD"
logs="$HPF_STATE/logs"

start() {
  mkdir -p "$logs"
  for s in $HPF_SERVICES; do
    pidfile="$HPF_STATE/$s.pid"
    if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then continue; fi
    role="$(schema_of "$s")"
    HPF_HTTP_PORT="$(port_of "$s")" HPF_PG_USER="$role" HPF_PG_PASSWORD="$role" \
      HPF_PG_PORT="$HPF_PG_PORT" HPF_KAFKA_BROKERS="$HPF_KAFKA_BROKERS" \
      nohup "$bin/$s" >>"$logs/$s.log" 2>&1 &
    echo $! >"$pidfile"
  done
  for s in $HPF_SERVICES; do
    port="$(port_of "$s")"
    for _ in $(seq 1 300); do
      curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
      alive "$(cat "$HPF_STATE/$s.pid")" || { echo "$s exited; see $logs/$s.log" >&2; tail -n 20 "$logs/$s.log" >&2; exit 1; }
      sleep 0.2
    done
    curl -fs "http://127.0.0.1:$port/ready" >/dev/null || { echo "$s not ready; see $logs/$s.log" >&2; exit 1; }
    printf '  %-14s http://127.0.0.1:%s  ready\n' "$s" "$port"
  done
}

stop() {
  for s in $HPF_SERVICES; do
    pidfile="$HPF_STATE/$s.pid"
    if [ -f "$pidfile" ]; then
      pid="$(cat "$pidfile")"
      # SIGTERM: graceful shutdown flushes the producer and leaves the consumer group cleanly.
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
