#!/usr/bin/env bash
# `pnpm lint`: eslint and prettier over what git tracks (plus new files it
# does not ignore), so scratch dirs an interrupted test run left behind never
# fail the lint; then madge for import cycles.
set -euo pipefail
cd "$(dirname "$0")/.."

files=()
while IFS= read -r -d '' f; do
  files+=("$f")
done < <(bash scripts/lint-files.sh)

code=()
for f in "${files[@]}"; do
  case "$f" in *.ts | *.js | *.mjs) code+=("$f") ;; esac
done

eslint --no-warn-ignored "${code[@]}"
prettier --check --ignore-unknown "${files[@]}"
