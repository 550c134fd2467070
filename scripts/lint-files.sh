#!/usr/bin/env bash
# The files `pnpm lint` checks, NUL-separated: what git tracks, plus new
# files it does not ignore. Scratch dirs an interrupted test run left behind
# (packages/codegen/test/.work/, .tmp/) are ignored, so they never fail the
# lint. Its own script so a test can check the list (codegen/test/work-dirs).
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do
    if [ -f "$f" ]; then printf '%s\0' "$f"; fi
  done
