#!/usr/bin/env bash
# The dev/test broker: Tansu, Kafka-compatible, single node, memory storage (a restart loses
# everything, so topics are created again by the services at start).
# Usage: kafka.sh start|stop|pause|resume (pause freezes the broker with SIGSTOP: its sockets stay
# open and nothing answers, the harshest kind of outage for a client; resume lets it go on).
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
pidfile="$HPF_STATE/tansu.pid"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$HPF_KAFKA_PORT") 2>/dev/null; }

start() {
  mkdir -p "$HPF_STATE"
  if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then
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
    pid="$(cat "$pidfile")"
    # A paused broker cannot act on SIGTERM until it runs again.
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    echo "broker stopped"
  fi
}

signal() {
  [ -f "$pidfile" ] && alive "$(cat "$pidfile")" || { echo "no broker running" >&2; exit 1; }
  kill "-$1" "$(cat "$pidfile")"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  pause) signal STOP; echo "broker paused" ;;
  resume) signal CONT; echo "broker resumed" ;;
  *) echo "usage: $0 start|stop|pause|resume" >&2; exit 2 ;;
esac
