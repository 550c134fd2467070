#!/usr/bin/env bash
# Sets up a fresh clone (pnpm, dependencies, redis-server for tests), then
# runs the demo or the test suite. Behind `npm run demo` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:?usage: bootstrap.sh demo|test [args...]}"
shift

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}

pnpm_cmd=(pnpm)
if ! command -v pnpm >/dev/null 2>&1; then
  echo "bootstrap: installing pnpm 10 (npm i -g pnpm@10)" >&2
  # corepack's signature check fails on some machines; npm is reliable.
  if ! npm i -g pnpm@10 >/dev/null 2>&1 || ! command -v pnpm >/dev/null 2>&1; then
    pnpm_cmd=(npx -y pnpm@10)
  fi
fi

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  "${pnpm_cmd[@]}" install --frozen-lockfile >&2
fi

case "$what" in
  demo)
    # Regenerates the typed modules if jobs.schema.ts changed (writes nothing otherwise).
    "${pnpm_cmd[@]}" exec tsx packages/codegen/src/bin.ts >&2
    exec "${pnpm_cmd[@]}" exec tsx packages/examples/src/demo.ts "$@"
    ;;
  test)
    if ! command -v redis-server >/dev/null 2>&1; then
      echo "bootstrap: installing redis-server (tests start their own private servers)" >&2
      as_root apt-get update -qq >&2
      as_root apt-get install -y -qq redis-server >&2
    fi
    if ! command -v chromium >/dev/null 2>&1; then
      echo "bootstrap: installing chromium (the dashboard tests drive it headless)" >&2
      as_root apt-get update -qq >&2
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    fi
    exec "${pnpm_cmd[@]}" exec vitest run "$@"
    ;;
  *)
    echo "bootstrap: unknown target $what" >&2
    exit 2
    ;;
esac
