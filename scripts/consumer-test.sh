#!/usr/bin/env bash
# The consumer test: jobwire as a user gets it, outside this repository.
#
# Packs the four packages, installs the tarballs into two fresh projects (one
# with npm, one with pnpm), and runs, per project, on the first Node version
# (20): `jobwire init`, codegen and `codegen --check` through the installed
# bin, tsc under a strict user tsconfig (skipLibCheck off) with a file of
# @ts-expect-error misuses, a worker and a producer on plain node against a
# private redis-server, require(esm) from a .cjs file, and `jobwire stats`.
# On the other Node versions (22, 24) only the steps whose result can depend
# on the Node that runs them: init, `codegen --check` against the files the
# first version generated (so codegen must agree byte for byte across Node
# versions), the worker and producer (on the JavaScript tsc emitted in the
# first chain: tsc's output does not depend on the Node running it), stats
# and require(esm).
#
# The npm project walks the documented path (README.md "Install in your
# project", docs/getting-started.md): a package.json as `npm init -y` writes
# it (CommonJS), the README's install lines (the tarballs standing in for the
# registry's packages), `jobwire init` (which sets "type": "module" and writes
# tsconfig.json), the schema at the root, codegen, stats and the README's
# literal `npx tsc && node dist/worker.js`, no flag naming a path; the strict
# tsconfig only type-checks. It takes the registry's latest typescript and
# @types/node (what a new user gets). The pnpm project starts from a
# package.json with "type": "module", keeps its code in src/ (so init puts the
# schema there and commands find it through jobwire.config.json) and compiles
# with the strict tsconfig, on the repository's typescript ~5.9 and
# @types/node ^20, so both compilers see the declaration files.
#
# Prints one line per step and ends with "consumer: N passed, N failed";
# exits 1 on any failure. Options:
#   --no-build     use the packages' existing dist/ (CI builds them first)
#   --packs DIR    use the four tarballs in DIR instead of packing them (CI:
#                  check:packages has just packed them into .tmp/packs)
# Environment:
#   CONSUMER_NODES   Node majors to run on (default "20 22 24"); a major that
#                    is not the machine's node is fetched with `npx -y node@N`
#   CONSUMER_KEEP=1  keep the temp dir (its path is printed) for inspection
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FIXTURES=$ROOT/scripts/consumer-test/fixtures
PACKAGES=(core codegen server cli)
NODES=${CONSUMER_NODES:-20 22 24}
# The chain with every step; the other versions run the Node-dependent ones.
FULL_NODE=${NODES%% *}
BUILD=1
PACKS=
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) BUILD=0 ;;
    --packs)
      PACKS=$(cd "${2:?--packs needs a directory}" && pwd) || exit 2
      shift
      ;;
    *)
      echo "usage: consumer-test.sh [--no-build] [--packs DIR]" >&2
      exit 2
      ;;
  esac
  shift
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jobwire-consumer.XXXXXX")
REDIS_PID=
# Stops a process and its descendants, children first (by pid only).
kill_tree() {
  local child
  for child in $(pgrep -P "$1"); do kill_tree "$child"; done
  kill -KILL "$1" 2>/dev/null
}
cleanup() {
  local code=$?
  # On an interrupt, chains may still run: stop them with what they started.
  local pid
  for pid in $(jobs -pr); do kill_tree "$pid"; done
  wait 2>/dev/null
  if [ -n "$REDIS_PID" ]; then
    kill -KILL "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
  fi
  if [ "${CONSUMER_KEEP:-0}" = 1 ]; then
    echo "consumer: kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- steps ------------------------------------------------------------------
# A step is a function; its output goes to a log that is shown only when it
# fails. RESULTS collects one ok/FAIL/skip line per step.

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# run_step LABEL FUNC [ARGS...]: runs FUNC unless an earlier step of this
# chain failed (BROKEN=1), and prints ok/FAIL/skip.
BROKEN=0
run_step() {
  local label=$1
  shift
  if [ "$BROKEN" = 1 ]; then
    echo "skip  $label (an earlier step failed)"
    echo skip >>"$RESULTS"
    return 0
  fi
  local log
  log=$(mktemp "$WORK/step.XXXXXX")
  local t0
  t0=$(now)
  if "$@" >"$log" 2>&1; then
    echo "ok    $label ($(since "$t0")s)"
    echo ok >>"$RESULTS"
  else
    echo "FAIL  $label ($(since "$t0")s)"
    tail -n 80 "$log" | sed 's/^/      | /'
    echo FAIL >>"$RESULTS"
    BROKEN=1
  fi
}

fail() {
  echo "check failed: $*"
  return 1
}

# expect_in TEXT PATTERN WHAT: PATTERN (an extended regex) occurs in TEXT.
expect_in() {
  grep -Eq -- "$2" <<<"$1" || fail "$3 (no match for /$2/)"
}

node_major() { node -p 'process.versions.node.split(".")[0]'; }

# --- setup: build, pack, redis, Node binaries, installs -----------------------

step_build() {
  (cd "$ROOT" && pnpm build)
}

step_pack() {
  mkdir -p "$WORK/tarballs"
  for p in "${PACKAGES[@]}"; do
    if [ -n "$PACKS" ]; then
      cp "$PACKS"/jobwire-"$p"-*.tgz "$WORK/tarballs/" || return 1
    else
      (cd "$ROOT/packages/$p" && pnpm pack --pack-destination "$WORK/tarballs") ||
        return 1
    fi
  done
  ls -l "$WORK/tarballs"
  for p in "${PACKAGES[@]}"; do
    [ -n "$(tarball "$p")" ] || fail "no tarball for @jobwire/$p" || return 1
  done
}

tarball() { ls "$WORK"/tarballs/jobwire-"$1"-*.tgz 2>/dev/null | head -n 1; }

step_redis() {
  mkdir -p "$WORK/redis"
  REDIS_PORT=$(node -e '
    const s = require("node:net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
  ') || return 1
  (cd "$WORK/redis" && exec redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save '' --appendonly no --dir "$WORK/redis" >"$WORK/redis/log" 2>&1) &
  REDIS_PID=$!
  # Ready when it answers PING (a raw RESP exchange, so no client is needed).
  local i
  for i in $(seq 1 100); do
    if node -e '
      const c = require("node:net").connect(Number(process.argv[1]), "127.0.0.1");
      c.on("error", () => process.exit(1));
      c.on("data", (d) => process.exit(String(d).startsWith("+PONG") ? 0 : 1));
      c.write("PING\r\n");
    ' "$REDIS_PORT"; then
      echo "redis-server on port $REDIS_PORT"
      return 0
    fi
    sleep 0.1
  done
  cat "$WORK/redis/log"
  fail "redis-server did not answer PING" || return 1
}

# The bin directory of Node major $1: the machine's node if it is that
# major, else the binary `npx -y node@N` fetches from the npm registry.
node_dir() {
  if [ "$(node_major)" = "$1" ]; then
    dirname "$(command -v node)"
  else
    local exe
    exe=$(cd "$WORK" && npx -y "node@$1" -p process.execPath) || return 1
    dirname "$exe"
  fi
}

step_nodes() {
  local v dir
  for v in $NODES; do
    dir=$(cat "$WORK/node-$v.dir" 2>/dev/null)
    [ -n "$dir" ] && [ -x "$dir/node" ] || {
      cat "$WORK/node-$v.log" 2>/dev/null
      fail "no Node $v binary" || return 1
      return 1
    }
    local version
    version=$("$dir/node" --version)
    echo "node $v: $dir/node $version"
    [ "${version#v}" != "${version#v"$v".}" ] || fail "node@$v is $version" || return 1
  done
}

# Writes the project's package.json: the four tarballs as dependencies, and
# overrides so their dependencies on each other resolve to the tarballs too
# (pnpm pack turned `workspace:*` into plain versions).
write_package_json() {
  local dir=$1 pm=$2
  node -e '
    const [dir, pm, ...pkgs] = process.argv.slice(1);
    const deps = {};
    for (const entry of pkgs) {
      const [name, file] = entry.split("=");
      deps[`@jobwire/${name}`] = `file:${file}`;
    }
    const pkg = {
      name: `jobwire-consumer-${pm}`,
      version: "0.0.0",
      private: true,
      type: "module",
      dependencies: deps,
    };
    if (pm === "npm") {
      // npm: an override of a direct dependency must reference it.
      pkg.overrides = Object.fromEntries(
        Object.keys(deps).map((name) => [name, `$${name}`]),
      );
    } else {
      pkg.pnpm = { overrides: deps };
    }
    require("node:fs").writeFileSync(
      `${dir}/package.json`,
      JSON.stringify(pkg, null, 2) + "\n",
    );
  ' "$dir" "$pm" $(for p in "${PACKAGES[@]}"; do echo "$p=$(tarball "$p")"; done)
}

install_project() {
  local pm=$1 dir=$WORK/$1
  mkdir -p "$dir"
  local t0
  t0=$(now)
  if [ "$pm" = npm ]; then
    # README.md's lines. codegen and server are named too: from the registry
    # they would come as the cli's dependencies; here the tarballs must.
    (cd "$dir" && npm init -y &&
      npm install --no-audit --no-fund "$(tarball core)" zod &&
      npm install --no-audit --no-fund -D "$(tarball cli)" "$(tarball codegen)" \
        "$(tarball server)" typescript @types/node tsx) || return 1
  else
    write_package_json "$dir" "$pm" || return 1
    (cd "$dir" && pnpm add zod 'typescript@~5.9.3' '@types/node@^20.19') ||
      return 1
  fi
  echo "$pm install took $(since "$t0")s"
  # What `jobwire init` starts from in every chain.
  cp "$dir/package.json" "$dir/package.json.installed"
  (cd "$dir" && node -p '
    const v = (n) => require(`./node_modules/${n}/package.json`).version;
    `installed: typescript ${v("typescript")}, @types/node ${v("@types/node")}, zod ${v("zod")}, @jobwire/core ${v("@jobwire/core")}`
  ')
}

step_installed() {
  local pm=$1
  cat "$WORK/install-$pm.log"
  [ "$(cat "$WORK/install-$pm.rc")" = 0 ] || fail "$pm install failed" || return 1
}

# --- one chain: one project on one Node version --------------------------------

# The project's bins, through its package manager.
jw() {
  # `--` ends npx's own options: else it takes `-p` and `--version` itself.
  if [ "$PM" = npm ]; then npx --no -- jobwire "$@"; else pnpm exec jobwire "$@"; fi
}
tsc_() {
  if [ "$PM" = npm ]; then npx --no -- tsc "$@"; else pnpm exec tsc "$@"; fi
}

step_node_version() {
  echo "node on PATH: $(command -v node) $(node --version)"
  [ "$(node_major)" = "$NODE_V" ] || fail "expected Node $NODE_V" || return 1
}

# A fresh start: the installed package.json, no jobwire files, the user's
# own files (worker, producer, misuse file) in place: at the root for npm,
# with no tsconfig.json (init writes it) and the strict one as
# tsconfig.strict.json; in src/ with the strict tsconfig.json for pnpm.
reset_project() {
  cp package.json.installed package.json
  rm -rf src dist generated ./*.ts jobwire.config.json jobs.lock.json \
    tsconfig.json tsconfig.strict.json
  cp "$FIXTURES/require-check.cjs" .
  if [ "$PM" = npm ]; then
    cp "$FIXTURES"/src/*.ts .
    # The strict flags, over the root layout, type-check only.
    node -e '
      const c = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
      delete c.compilerOptions.rootDir;
      delete c.compilerOptions.outDir;
      c.compilerOptions.noEmit = true;
      c.include = ["*.ts", "generated"];
      require("node:fs").writeFileSync("tsconfig.strict.json", JSON.stringify(c, null, 2));
    ' "$FIXTURES/tsconfig.json"
  else
    mkdir -p src
    cp "$FIXTURES"/src/*.ts src/
    cp "$FIXTURES/tsconfig.json" .
  fi
}

step_init() {
  reset_project
  local out
  out=$(jw init 2>&1)
  local rc=$?
  echo "$out"
  [ "$rc" = 0 ] || fail "jobwire init exited $rc" || return 1
  if [ "$PM" = npm ]; then
    expect_in "$out" '^ *set +package\.json "type": "module" \((was "commonjs"|it had no "type")' \
      'init set "type": "module" in the npm init -y package.json' &&
      expect_in "$out" '^ *created +tsconfig\.json' "init created tsconfig.json" &&
      expect_in "$out" '(npx|npm exec) tsc && node dist/worker\.js' "init's next steps say npx tsc && node dist/worker.js" ||
      return 1
  else
    expect_in "$out" '^ *kept +tsconfig\.json' "init kept the project's tsconfig.json" || return 1
  fi
  expect_in "$out" "^ *created +${SRC}jobs\\.schema\\.ts" "init created ${SRC}jobs.schema.ts" &&
    expect_in "$out" '^ *created +jobwire\.config\.json' "init created jobwire.config.json" &&
    expect_in "$out" '^ *added +package\.json script "codegen"' 'init added the "codegen" script' &&
    expect_in "$out" '^ *added +package\.json script "codegen:check"' 'init added the "codegen:check" script' &&
    node -e '
      const c = require("./jobwire.config.json");
      const p = require("./package.json");
      const bad = [];
      if (c.importExtension !== ".js") bad.push(`importExtension ${c.importExtension} (NodeNext needs .js)`);
      if (c.schema !== `${process.argv[1]}jobs.schema.ts`) bad.push(`schema ${c.schema}`);
      if (p.type !== "module") bad.push(`type ${p.type}`);
      if (p.scripts?.codegen !== "jobwire codegen") bad.push(`codegen script ${p.scripts?.codegen}`);
      if (p.scripts?.["codegen:check"] !== "jobwire codegen --check") bad.push(`codegen:check script ${p.scripts?.["codegen:check"]}`);
      if (bad.length) { console.log("check failed:", bad.join("; ")); process.exit(1); }
    ' "$SRC" || return 1
  # A second init keeps everything, byte for byte.
  local before after
  before=$(cat "${SRC}jobs.schema.ts" jobwire.config.json package.json tsconfig.json | cksum)
  out=$(jw init 2>&1) || fail "second jobwire init exited non-zero" || return 1
  echo "$out"
  after=$(cat "${SRC}jobs.schema.ts" jobwire.config.json package.json tsconfig.json | cksum)
  [ "$before" = "$after" ] || fail "a second jobwire init changed files" || return 1
  if grep -Eq '^ *(created|added|set) ' <<<"$out"; then
    fail "a second jobwire init created, added or set something" || return 1
  fi
}

step_codegen() {
  cp "$FIXTURES/schema/jobs.schema.ts" "${SRC}jobs.schema.ts"
  jw codegen || fail "jobwire codegen exited non-zero" || return 1
  local f
  for f in producer.ts consumer.ts testing.ts contract.json; do
    [ -f "${SRC}generated/$f" ] || fail "no ${SRC}generated/$f" || return 1
  done
  grep -Eq "from ['\"]\.\./jobs\.schema\.js['\"]" "${SRC}generated/producer.ts" ||
    fail "${SRC}generated/producer.ts does not import ../jobs.schema.js (NodeNext)" || return 1
  [ -f jobs.lock.json ] || fail "no jobs.lock.json" || return 1
}

step_codegen_check() {
  jw codegen --check || fail "jobwire codegen --check exited non-zero" || return 1
}

# One tsc run type-checks (pnpm: and emits); its diagnostics are sorted by
# origin.
step_typecheck() {
  rm -rf dist
  local config=tsconfig.json
  [ "$PM" = npm ] && config=tsconfig.strict.json
  tsc_ -p "$config" --pretty false --listFiles >"$CHAIN_DIR/tsc.out" 2>&1
  local rc=$?
  echo "tsc $(tsc_ --version) exited $rc"
  node "$ROOT/scripts/consumer-test/classify-tsc.mjs" "$CHAIN_DIR/tsc.out" "$rc"
}

step_compile() {
  if [ "$PM" = npm ]; then
    # README.md's `npx tsc`, with the tsconfig.json init wrote.
    npx --no -- tsc || fail "npx tsc exited non-zero" || return 1
  fi
  local f
  for f in worker.js producer.js env.js jobs.schema.js generated/producer.js \
    generated/consumer.js type-errors.js surface.js; do
    [ -f "dist/$f" ] || fail "tsc emitted no dist/$f" || return 1
  done
  grep -Eq "from ['\"]\.\./jobs\.schema\.js['\"]" dist/generated/producer.js ||
    fail "dist/generated/producer.js does not import ../jobs.schema.js" || return 1
}

# The first chain's generated files, lock and JavaScript, for the chains on
# the other Node versions.
save_project() {
  rm -rf "$CHAIN_DIR/project"
  mkdir -p "$CHAIN_DIR/project"
  cp -r "${SRC}generated" "$CHAIN_DIR/project/generated" &&
    cp jobs.lock.json "$CHAIN_DIR/project/" &&
    cp -r dist "$CHAIN_DIR/project/dist"
}

step_reuse() {
  local from=$WORK/chain-$PM-$FULL_NODE/project
  [ -d "$from/dist" ] ||
    fail "the Node $FULL_NODE chain left no generated and compiled project" || return 1
  cp "$FIXTURES/schema/jobs.schema.ts" "${SRC}jobs.schema.ts" &&
    cp -r "$from/generated" "${SRC}generated" &&
    cp "$from/jobs.lock.json" jobs.lock.json &&
    rm -rf dist &&
    cp -r "$from/dist" dist
}

step_run() {
  node dist/worker.js >"$CHAIN_DIR/worker.log" 2>&1 &
  WORKER_PID=$!
  local i
  for i in $(seq 1 300); do
    grep -q 'worker ready' "$CHAIN_DIR/worker.log" && break
    kill -0 "$WORKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  local out rc
  out=$(timeout 120 node dist/producer.js 2>&1)
  rc=$?
  echo "producer (exit $rc):"
  echo "$out"
  kill -TERM "$WORKER_PID" 2>/dev/null
  # closeOnSignals exits 0 once the worker has closed; SIGKILL after 30 s.
  (sleep 30 && kill -KILL "$WORKER_PID" 2>/dev/null) &
  local watchdog=$!
  wait "$WORKER_PID"
  local wrc=$?
  kill "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
  WORKER_PID=
  echo "worker (exit $wrc):"
  cat "$CHAIN_DIR/worker.log"
  [ "$rc" = 0 ] || fail "producer exited $rc" || return 1
  [ "$wrc" = 0 ] || fail "worker exited $wrc on SIGTERM" || return 1
  expect_in "$(cat "$CHAIN_DIR/worker.log")" "worker ready on node v$NODE_V\." \
    "the worker ran on Node $NODE_V" &&
    expect_in "$out" '^result chargeCard \{"receiptId":"r-c-42","amountCents":1250\}' \
      "typed chargeCard result" &&
    expect_in "$out" '^result importRows .*progress \{"done":3,"total":3\}' \
      "importRows result and progress" &&
    expect_in "$out" '^result sendGreeting \{"text":"hello ADA"\}' \
      "sendGreeting result (default and transform applied)" &&
    expect_in "$out" '^refused .*amountCents' "bad payload refused, naming amountCents"
}

step_require() {
  local out
  out=$(node require-check.cjs 2>&1) || {
    echo "$out"
    fail "require-check.cjs failed" || return 1
  }
  echo "$out"
  expect_in "$out" "require\\(@jobwire/core\\) works on node v$NODE_V\\." "require(esm) of @jobwire/core"
}

step_stats() {
  local out
  # No --schema: jobwire.config.json names it, as init wrote it.
  out=$(jw stats 2>&1) || {
    echo "$out"
    fail "jobwire stats exited non-zero" || return 1
  }
  echo "$out"
  # Columns: TYPE QUEUE WAITING DELAYED ACTIVE COMPLETED FAILED EXPIRED.
  local t got
  for t in chargeCard importRows sendGreeting; do
    # The first table only: a type with flow rules has a row in the
    # flow-control table below it too.
    got=$(awk -v t="$t" '$1 == t && !seen++ { print $2 "/" $6 "/" $7 }' <<<"$out")
    case $t in
      importRows) [ "$got" = "imports/1/0" ] ;;
      *) [ "$got" = "billing/1/0" ] ;;
    esac || fail "stats row $t: queue/completed/failed = '$got'" || return 1
  done
  got=$(awk '$1 == "total" { print $5 }' <<<"$out")
  [ "$got" = 3 ] || fail "stats total completed = '$got', expected 3" || return 1
  # A reader that stops early: no stack trace (EPIPE). npx's own warnings
  # (pnpm's npm_config_* variables under `pnpm run`) are not jobwire's.
  jw stats 2>"$CHAIN_DIR/stats-head.err" | head -n 1 >/dev/null
  if grep -v '^npm warn ' "$CHAIN_DIR/stats-head.err" | grep -q .; then
    cat "$CHAIN_DIR/stats-head.err"
    fail "jobwire stats | head -n 1 wrote to stderr" || return 1
  fi
}

# run_chain PM NODE_V: every per-project step on one Node version; prints
# its step lines (to the file the caller reads).
run_chain() {
  PM=$1
  NODE_V=$2
  # Where the project keeps its code: the root (npm), src/ (pnpm).
  SRC=
  [ "$PM" = pnpm ] && SRC=src/
  CHAIN_DIR=$WORK/chain-$PM-$NODE_V
  WORKER_PID=
  BROKEN=0
  mkdir -p "$CHAIN_DIR"
  trap '[ -n "$WORKER_PID" ] && kill -KILL "$WORKER_PID" 2>/dev/null' EXIT
  trap 'exit 143' TERM INT
  PATH="$(cat "$WORK/node-$NODE_V.dir"):$PATH"
  export PATH REDIS_URL="redis://127.0.0.1:$REDIS_PORT" JOBWIRE_PREFIX="jw-$PM-$NODE_V"
  cd "$WORK/$PM" || exit 1
  local l="[$PM node$NODE_V]" t0
  t0=$(now)
  run_step "$l node $NODE_V on PATH" step_node_version
  run_step "$l jobwire init (twice: never overwrites)" step_init
  if [ "$NODE_V" = "$FULL_NODE" ]; then
    run_step "$l jobwire codegen (three job types)" step_codegen
    run_step "$l jobwire codegen --check" step_codegen_check
    run_step "$l tsc strict: 0 errors from jobwire and user code" step_typecheck
    run_step "$l tsc emits JavaScript" step_compile
    [ "$BROKEN" = 0 ] && save_project
  else
    run_step "$l the Node $FULL_NODE chain's generated files and JavaScript" step_reuse
    run_step "$l jobwire codegen --check agrees with Node $FULL_NODE's output" step_codegen_check
  fi
  run_step "$l plain node: worker + producer, typed results, bad payload refused" step_run
  run_step "$l jobwire stats shows the job type counts" step_stats
  # Needs only the installed packages: runs even after a failed step.
  BROKEN=0
  run_step "$l require(@jobwire/core) from .cjs" step_require
  # CPU time of everything the chain ran: the load-independent cost.
  local cpu
  # (`times` in a pipe or $(…) would report that subshell, hence the file.)
  times >"$CHAIN_DIR/times"
  cpu=$(awk 'NR == 2 { gsub(/[ms]/, " "); printf "%.1f", $1 * 60 + $2 + $3 * 60 + $4 }' "$CHAIN_DIR/times")
  echo "time  $l $(since "$t0")s wall, ${cpu}s CPU"
}

# --- main ---------------------------------------------------------------------

T0=$(now)
echo "consumer: working in $WORK"
RESULTS=$WORK/results.setup
BROKEN=0
if [ "$BUILD" = 1 ]; then
  run_step "build (pnpm build)" step_build
fi
run_step "pack the four packages" step_pack
if [ "$BROKEN" = 0 ]; then
  # Installs and Node downloads wait on the network: all at once.
  waits=()
  for pm in npm pnpm; do
    (
      install_project "$pm" >"$WORK/install-$pm.log" 2>&1
      echo $? >"$WORK/install-$pm.rc"
    ) &
    waits+=($!)
  done
  for v in $NODES; do
    (node_dir "$v" >"$WORK/node-$v.dir" 2>"$WORK/node-$v.log") &
    waits+=($!)
  done
  run_step "redis-server on a free port" step_redis
  wait "${waits[@]}"
  run_step "node binaries ($NODES)" step_nodes
fi
if [ "$BROKEN" = 0 ]; then
  for pm in npm pnpm; do
    BROKEN=0
    label="install the tarballs, zod, typescript, @types/node"
    [ "$pm" = npm ] && label="npm init -y, then README.md's install lines (the tarballs, zod, typescript, @types/node, tsx)"
    run_step "[$pm] $label" step_installed "$pm"
    [ "$BROKEN" = 0 ] && touch "$WORK/$pm.ok"
  done
  for v in $NODES; do
    t0=$(now)
    # The npm and pnpm projects are independent: run them side by side.
    chains=()
    for pm in npm pnpm; do
      if [ -f "$WORK/$pm.ok" ]; then
        (RESULTS=$WORK/results.$pm.$v run_chain "$pm" "$v" \
          >"$WORK/chain-$pm-$v.out" 2>&1) &
        chains+=($!)
      fi
    done
    # Not a bare `wait`: that would also wait for redis-server.
    wait "${chains[@]}"
    for pm in npm pnpm; do
      [ -f "$WORK/chain-$pm-$v.out" ] && cat "$WORK/chain-$pm-$v.out"
    done
    echo "time  node $v (npm and pnpm side by side): $(since "$t0")s"
  done
fi

passed=$(cat "$WORK"/results.* | grep -c '^ok')
failed=$(cat "$WORK"/results.* | grep -c '^FAIL')
skipped=$(cat "$WORK"/results.* | grep -c '^skip')
times >"$WORK/times"
echo "time  total $(since "$T0")s wall, $(awk 'NR == 2 { gsub(/[ms]/, " "); printf "%.1f", $1 * 60 + $2 + $3 * 60 + $4 }' "$WORK/times")s CPU"
[ "$skipped" = 0 ] || echo "consumer: $skipped steps skipped after a failure"
echo "consumer: $passed passed, $failed failed"
[ "$failed" = 0 ]
