#!/usr/bin/env bash
# CPU seconds used so far by each part of a running stack (HPF_STACK): the six services, the
# stack's Postgres (its postmaster and every backend) and the broker. `bench.sh` takes one
# snapshot before the deposit phase and one after, and prints the difference per deposit: where
# a deposit's CPU goes, end to end (the profile #15 asks for, re-runnable).
# Usage: cpu.sh snapshot > FILE   |   cpu.sh per BEFORE AFTER COUNT LABEL
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
ticks="$(getconf CLK_TCK)"

# utime + stime of a process and of its exited, waited-for children (cutime + cstime): Postgres
# backends that ended during the window still count.
seconds_of() { awk -v t="$ticks" '{ printf "%.2f", ($14 + $15 + $16 + $17) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }

snapshot() {
  for s in $HPF_SERVICES; do
    pidfile="$HPF_STATE/$s.pid"
    if [ -f "$pidfile" ]; then echo "$s $(seconds_of "$(cat "$pidfile")")"; fi
  done
  postmaster="$(head -n 1 "$PGDATA_DIR/postmaster.pid")"
  total="$(seconds_of "$postmaster")"
  for child in $(pgrep -P "$postmaster"); do total="$(awk -v a="$total" -v b="$(seconds_of "$child")" 'BEGIN { printf "%.2f", a + b }')"; done
  echo "postgres $total"
  if [ -f "$HPF_STATE/tansu.pid" ]; then echo "tansu $(seconds_of "$(cat "$HPF_STATE/tansu.pid")")"; fi
}

# One line: `<label>-cpu: contribution X ms ... postgres Y ms tansu Z ms all W ms per <label>`.
per() {
  local before="$1" after="$2" count="$3" label="$4"
  awk -v n="$count" -v label="$label" '
    NR == FNR { start[$1] = $2; next }
    ($1 in start) { ms = 1000 * ($2 - start[$1]) / n; all += ms; line = line sprintf(" %s %.2f ms", $1, ms) }
    END { printf "%s-cpu:%s  all %.2f ms per %s\n", label, line, all, label }' "$before" "$after"
}

case "${1:-snapshot}" in
  snapshot) snapshot ;;
  per) per "$2" "$3" "$4" "$5" ;;
  *) echo "usage: $0 snapshot | per BEFORE AFTER COUNT LABEL" >&2; exit 2 ;;
esac
