#!/usr/bin/env bash
# Validates the API documents in docs/ (OpenAPI and AsyncAPI; see Tools/docs/validate.py) in a
# private Python environment under .devstack, made on first use. Run by `make test`.
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
"$venv/bin/python" "$HPF_ROOT/Tools/docs/validate.py" "$@"
