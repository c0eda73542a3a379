#!/usr/bin/env bash
# `make test`: a fresh test stack (its own ports and data), then every test.
set -euo pipefail
export HPF_STACK=test
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cleanup() {
  bash "$here/kafka.sh" stop >/dev/null; bash "$here/pg.sh" stop >/dev/null
  # The outage tests' own stack, if a run left it up.
  HPF_STACK=fault bash "$here/kafka.sh" stop >/dev/null; HPF_STACK=fault bash "$here/pg.sh" stop >/dev/null
}
trap cleanup EXIT
# The layout of the Swift sources first (.swift-format): a file that differs fails the run at once.
bash "$here/style.sh"
bash "$here/pg.sh" reset
bash "$here/kafka.sh" stop >/dev/null
bash "$here/kafka.sh" start
cd "$HPF_ROOT"
# The published documents first: an invalid OpenAPI or AsyncAPI file fails the run.
bash "$here/docs.sh"
# docker/ in step with Package.swift, the dev stack and the docs (no Docker engine needed).
bash "$here/docs.sh" --deploy
swift build --build-tests
swift test --skip-build
# Then every event the tests made the services publish, against the same documents: they must
# describe what really travels, not only the golden examples.
live="$HPF_STATE/live-events"
rm -rf "$live"
"$HPF_ROOT/.build/debug/hpfctl" events-dump --dir "$live"
bash "$here/docs.sh" --live "$live"
