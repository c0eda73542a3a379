#!/usr/bin/env bash
# `make stop`: ends what `make run` (and an interrupted `make test` or `make bench`) started.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for stack in run test bench; do
  HPF_STACK=$stack bash "$here/channel.sh" stop
  HPF_STACK=$stack bash "$here/partners.sh" stop
  HPF_STACK=$stack bash "$here/services.sh" stop
  HPF_STACK=$stack bash "$here/kafka.sh" stop
  HPF_STACK=$stack bash "$here/pg.sh" stop
done
