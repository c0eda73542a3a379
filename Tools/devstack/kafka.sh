#!/usr/bin/env bash
# The dev/test broker: Tansu, Kafka-compatible, single node, memory storage (a restart loses
# everything, so topics are created again by the services at start). Usage: kafka.sh start|stop
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
pidfile="$HPF_STATE/tansu.pid"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$HPF_KAFKA_PORT") 2>/dev/null; }

start() {
  mkdir -p "$HPF_STATE"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "broker already up on $HPF_KAFKA_BROKERS"; return
  fi
  [ -x "$TANSU_BIN" ] || { echo "no broker binary: run Tools/devstack/setup.sh" >&2; exit 1; }
  nohup "$TANSU_BIN" broker --listener-url "tcp://127.0.0.1:$HPF_KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$HPF_KAFKA_PORT" --storage-engine memory://tansu/ \
    >"$HPF_STATE/tansu.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do port_open && break; sleep 0.1; done
  port_open || { echo "broker did not start; see $HPF_STATE/tansu.log" >&2; exit 1; }
  echo "broker up on $HPF_KAFKA_BROKERS"
}

stop() {
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    echo "broker stopped"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
