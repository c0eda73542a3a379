# Shared settings of the dev stack; sourced by the scripts beside it.
# HPF_STACK=run (default, the ports of CONTRACT.md) or HPF_STACK=test (its own ports and data,
# so tests can run while `make run` keeps the suite up); `bench` and `fault` (the outage tests)
# have their own too.
HPF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HPF_CACHE="$HPF_ROOT/.devstack"
TANSU_BIN="$HPF_CACHE/bin/tansu"
HPF_STACK="${HPF_STACK:-run}"
# Postgres refuses to run as root and needs every parent folder traversable: keep its data
# under /tmp, keyed by the checkout so two clones never share a cluster.
HPF_KEY="$(printf '%s' "$HPF_ROOT" | md5sum | cut -c1-8)"
HPF_STATE="/tmp/hpf-$HPF_KEY-$HPF_STACK"
PGDATA_DIR="$HPF_STATE/pgdata"
PG_BIN="/usr/lib/postgresql/15/bin"
if [ "$HPF_STACK" = "test" ]; then
  export HPF_PG_PORT="${HPF_TEST_PG_PORT:-55433}"
  export HPF_KAFKA_PORT="${HPF_TEST_KAFKA_PORT:-9093}"
elif [ "$HPF_STACK" = "bench" ]; then
  export HPF_PG_PORT="${HPF_BENCH_PG_PORT:-55434}"
  export HPF_KAFKA_PORT="${HPF_BENCH_KAFKA_PORT:-9094}"
  HPF_SERVICE_PORT_OFFSET="${HPF_SERVICE_PORT_OFFSET:-1000}"
elif [ "$HPF_STACK" = "fault" ]; then
  # The outage tests' own Postgres and broker, stopped and paused while the rest of the suite runs.
  export HPF_PG_PORT="${HPF_FAULT_PG_PORT:-55435}"
  export HPF_KAFKA_PORT="${HPF_FAULT_KAFKA_PORT:-9095}"
else
  export HPF_PG_PORT="${HPF_PG_PORT:-55432}"
  export HPF_KAFKA_PORT="${HPF_KAFKA_PORT:-9092}"
fi
export HPF_KAFKA_BROKERS="127.0.0.1:$HPF_KAFKA_PORT"
# Every stack these scripts start is a development stack: the only mode in which the services
# accept the development identity provider's tokens and the channels' development keys.
export HPF_ENV=development
export PKG_CONFIG_PATH="/usr/local/lib/pkgconfig:${PKG_CONFIG_PATH:-}"
export LD_LIBRARY_PATH="/usr/local/lib:${LD_LIBRARY_PATH:-}"
HPF_SERVICES="enrolment contribution subsidy withdrawal loan regional-sync"
# Database role/schema of each service (regional-sync owns the `regional` schema).
schema_of() { [ "$1" = "regional-sync" ] && echo regional || echo "$1"; }
port_of() {
  local base
  case "$1" in enrolment) base=8081;; contribution) base=8082;; subsidy) base=8083;;
    withdrawal) base=8084;; loan) base=8085;; regional-sync) base=8086;; esac
  echo $((base + ${HPF_SERVICE_PORT_OFFSET:-0}))
}
# Run a command as the owner of the Postgres cluster (initdb and postgres refuse root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# True while `pid` runs: a killed process that its parent has not reaped yet (a zombie) is dead.
alive() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null | tr -d ' ')" || return 1
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}
