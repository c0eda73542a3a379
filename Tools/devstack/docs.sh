#!/usr/bin/env bash
# Validates the API documents in docs/ (OpenAPI and AsyncAPI; see Tools/docs/validate.py) in a
# private Python environment under .devstack, made on first use. Run by `make test`.
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
"$venv/bin/python" "$HPF_ROOT/Tools/docs/validate.py" "$@"
