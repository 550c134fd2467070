#!/usr/bin/env bash
# Builds the four published packages, packs them as pnpm would publish them
# (workspace:* replaced by versions), and lints each tarball with publint and
# @arethetypeswrong/cli. The tarballs are left in .tmp/packs/ for the
# consumer test. Behind `pnpm check:packages`.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(core codegen server cli)
out=.tmp/packs

pnpm build
rm -rf "$out"
mkdir -p "$out"
for p in "${packages[@]}"; do
  pnpm --dir "packages/$p" pack --pack-destination "$PWD/$out" >/dev/null
done

status=0
for tarball in "$out"/*.tgz; do
  echo "== $(basename "$tarball") =="
  # --strict: a warning fails too.
  if ! pnpm exec publint run "$tarball" --strict; then
    status=1
  fi
  # esm-only: jobwire ships ESM only, so attw's CommonJS resolution modes
  # (node10, node16 from a .cts) are not a promise we make. CommonJS callers
  # on Node >= 20.19 load it through require(esm), which attw does not model.
  if ! pnpm exec attw "$tarball" --profile esm-only --format table-flipped; then
    status=1
  fi
done
ls -l "$out"
exit "$status"
