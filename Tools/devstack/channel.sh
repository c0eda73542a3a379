#!/usr/bin/env bash
# The simulated payment channel of the local stack (hpfctl payment-channel): confirms every
# payout the withdrawal service asks for, as a bank would, asynchronously. Usage: channel.sh start|stop
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
pidfile="$HPF_STATE/payment-channel.pid"
case "${1:-start}" in
  start)
    if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then exit 0; fi
    mkdir -p "$HPF_STATE/logs"
    HPF_KAFKA_BROKERS="$HPF_KAFKA_BROKERS" nohup "$HPF_ROOT/.build/${HPF_BUILD:-debug}/hpfctl" payment-channel \
      --url "http://127.0.0.1:$(port_of withdrawal)" >>"$HPF_STATE/logs/payment-channel.log" 2>&1 &
    echo $! >"$pidfile"
    echo "  payment-channel (simulated) confirms payouts; log $HPF_STATE/logs/payment-channel.log"
    ;;
  stop)
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
