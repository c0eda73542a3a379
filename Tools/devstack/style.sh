#!/usr/bin/env bash
# The Swift sources against the project's swift-format configuration (.swift-format: the
# toolchain's defaults with 4-space indents, 160 columns, and the rules listed there turned off
# because the code base writes those shapes on purpose, e.g. `lock.lock(); defer { … }`).
# Run by `make test`: any difference fails the run. `style.sh --fix` (`make format`) rewrites
# the files in place instead; it changes layout only, never behaviour.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
cd "$HPF_ROOT"
if ! swift format --version >/dev/null 2>&1; then
  echo "style: 'swift format' is missing (it ships with the Swift 6 toolchain)" >&2
  exit 1
fi
sources=(Package.swift Services Shared Tests Tools)
if [ "${1-}" = "--fix" ]; then
  exec swift format format --in-place --recursive --parallel --configuration .swift-format "${sources[@]}"
fi
if ! swift format lint --strict --recursive --parallel --configuration .swift-format "${sources[@]}"; then
  echo "style: the lines above differ from .swift-format; 'make format' rewrites them" >&2
  exit 1
fi
echo "style: every Swift file follows .swift-format"
