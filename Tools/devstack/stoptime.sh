#!/usr/bin/env bash
# How long each running service of a stack (HPF_STACK) takes to stop after SIGTERM: a graceful
# shutdown (jobs, consumers leaving their groups, the relay, the producer's flush, the pool).
# The services are stopped one at a time, the others still running, and their pid files removed;
# a service still running after HPF_SHUTDOWN_TIMEOUT + 5 s (its own deadline) is killed.
# Usage: stoptime.sh   (the services must have been started by services.sh)
# Prints one line per service, `stop: <service> <ms> ms`, then the total.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
limit_ms=$(( (${HPF_SHUTDOWN_TIMEOUT:-30} + 5) * 1000 ))
now_ms() { date +%s%3N; }

total=0
for s in $HPF_SERVICES; do
  pidfile="$HPF_STATE/$s.pid"
  [ -f "$pidfile" ] && alive "$(cat "$pidfile")" || { echo "stop: $s is not running (services.sh start)" >&2; exit 1; }
  pid="$(cat "$pidfile")"
  began="$(now_ms)"
  kill -TERM "$pid"
  while alive "$pid" && [ $(( $(now_ms) - began )) -lt "$limit_ms" ]; do sleep 0.02; done
  took=$(( $(now_ms) - began ))
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    printf 'stop: %-14s did not stop within %s ms (killed)\n' "$s" "$limit_ms"
  else
    printf 'stop: %-14s %5s ms\n' "$s" "$took"
  fi
  rm -f "$pidfile"
  total=$(( total + took ))
done
printf 'stop: %-14s %5s ms  (SIGTERM to each in turn, the others running)\n' "all six" "$total"
