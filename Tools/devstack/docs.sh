#!/usr/bin/env bash
# Validates the API documents in docs/ (OpenAPI and AsyncAPI; see Tools/docs/validate.py) in a
# private Python environment under .devstack, made on first use, then checks that the AsyncAPI
# payload schemas say what the Swift event types in Shared/Contracts encode (the event contract,
# Tools/docs/contractcheck.py). Run by `make test`; fails when either check fails.
# `docs.sh --live DIR` checks the events the tests published (validate.py --live) only.
# `docs.sh --contract [options]` runs the event-contract check alone.
# `docs.sh --deploy [options]` runs Tools/docs/deploycheck.py instead, in the same environment:
# docker/ against Package.swift, the dev stack and the docs, without a Docker engine.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
venv="$HPF_CACHE/docs-venv"
stamp="$venv/.requirements"
requirements="$HPF_ROOT/Tools/docs/requirements.txt"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
if [ "${1-}" = "--deploy" ]; then
  shift
  exec "$venv/bin/python" "$HPF_ROOT/Tools/docs/deploycheck.py" "$@"
fi
if [ "${1-}" = "--contract" ]; then
  shift
  exec "$venv/bin/python" "$HPF_ROOT/Tools/docs/contractcheck.py" "$@"
fi
if [ "${1-}" = "--live" ]; then
  exec "$venv/bin/python" "$HPF_ROOT/Tools/docs/validate.py" "$@"
fi
# Both checks run (each prints its own report) before the status says whether either failed.
status=0
"$venv/bin/python" "$HPF_ROOT/Tools/docs/validate.py" "$@" || status=1
"$venv/bin/python" "$HPF_ROOT/Tools/docs/contractcheck.py" || status=1
exit "$status"
