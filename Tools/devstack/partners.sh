#!/usr/bin/env bash
# The simulated partner cities of the local stack (hpfctl partner-city): Xuzhou and Suqian, with
# their development keys (signing and encryption), answer our contact letters and confirm our
# transfer-out data over the signed partner feed, and play the banks between the centres (the
# settlement notices of what they transfer to us, our bank's payouts of what we transfer to them,
# as the `bank` channel). Usage: partners.sh start|stop
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
pidfile="$HPF_STATE/partner-city.pid"
case "${1:-start}" in
  start)
    if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then exit 0; fi
    mkdir -p "$HPF_STATE/logs"
    HPF_KAFKA_BROKERS="$HPF_KAFKA_BROKERS" nohup "$HPF_ROOT/.build/${HPF_BUILD:-debug}/hpfctl" partner-city --cities 320300,321300 \
      --url "http://127.0.0.1:$(port_of regional-sync)" >>"$HPF_STATE/logs/partner-city.log" 2>&1 &
    echo $! >"$pidfile"
    echo "  partner-city (simulated Xuzhou 320300 and Suqian 321300); log $HPF_STATE/logs/partner-city.log"
    ;;
  stop)
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
