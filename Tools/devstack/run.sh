#!/usr/bin/env bash
# `make run`: Postgres, the broker, the topics, the six services, then a short demo.
# The suite keeps running afterwards; `make stop` ends it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
started=$SECONDS
# Each step is named and timed; the build is quiet (its errors still show), the total comes last.
step() {
  local name="$1" t=$SECONDS
  shift
  printf '\033[1;34m[run]\033[0m %s\n' "$name"
  "$@"
  printf '\033[1;34m[run]\033[0m %s: %d s\n' "$name" $((SECONDS - t))
}
step "setup (system packages, librdkafka, the broker; quick once done)" bash "$here/setup.sh"
step "build (a cold build takes about 10 min on 2 cores)" swift build -q --package-path "$HPF_ROOT"
step "postgres" bash "$here/pg.sh" start
step "broker" bash "$here/kafka.sh" start
step "topics" "$HPF_ROOT/.build/debug/hpfctl" topics
step "six services" bash "$here/services.sh" start
step "payment channel and partner cities" bash -c "bash '$here/channel.sh' start && bash '$here/partners.sh' start"
step "demo: a worker's journey" bash "$here/demo.sh"
cat <<MSG

The suite is running (logs in $HPF_STATE/logs):
  enrolment :8081  contribution :8082  subsidy :8083  withdrawal :8084  loan :8085  regional-sync :8086
  broker $HPF_KAFKA_BROKERS   postgres 127.0.0.1:$HPF_PG_PORT (database hpf)
  a simulated payment channel confirms payouts (payee bank accounts ending 0000 fail, ending 7777 are paid
    without a confirmation); hpfctl channel-statement deposits|payouts reconciles its day (对账)
  simulated partner cities Xuzhou 320300 and Suqian 321300 answer transfers (hpfctl partner-city)
  events: .build/debug/hpfctl events hpf.contribution.events.v1
Stop it with: make stop
MSG
printf '\033[1;34m[run]\033[0m total: %d s\n' $((SECONDS - started))
