#!/usr/bin/env bash
# Idle cost of the running services of a stack (HPF_STACK): CPU over a quiet window and resident
# memory, per service, from /proc (the services must have been started by services.sh).
# Usage: idle.sh [seconds]   (30 by default)
# Prints one line per service, `idle: <service> cpu <percent of a core> % rss <MB> MB`, then the total.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
seconds="${1:-30}"
ticks="$(getconf CLK_TCK)"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, all threads
rss_mb() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

declare -A pids before
for s in $HPF_SERVICES; do
  pidfile="$HPF_STATE/$s.pid"
  [ -f "$pidfile" ] && alive "$(cat "$pidfile")" || { echo "idle: $s is not running (services.sh start)" >&2; exit 1; }
  pids[$s]="$(cat "$pidfile")"
done
# Let start-up settle (migrations, topic checks, the first relay rounds) before the window opens.
sleep 5
for s in $HPF_SERVICES; do before[$s]="$(cpu_ticks "${pids[$s]}")"; done
sleep "$seconds"
total_cpu=0; total_rss=0
for s in $HPF_SERVICES; do
  pid="${pids[$s]}"
  used=$(( $(cpu_ticks "$pid") - ${before[$s]} ))
  cpu=$(awk -v u="$used" -v t="$ticks" -v s="$seconds" 'BEGIN { printf "%.2f", 100 * u / t / s }')
  rss="$(rss_mb "$pid")"
  printf 'idle: %-14s cpu %5s %% of a core  rss %4s MB\n' "$s" "$cpu" "$rss"
  total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN { printf "%.2f", a + b }')
  total_rss=$(( total_rss + rss ))
done
printf 'idle: %-14s cpu %5s %% of a core  rss %4s MB  (over %s s with no traffic; goals: under 0.5 %% and 100 MB each)\n' "all six" "$total_cpu" "$total_rss" "$seconds"
