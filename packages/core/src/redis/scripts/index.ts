import { createHash } from 'node:crypto';
import { Command, type Cluster, type Redis } from 'ioredis';
import { inlineIncludes } from './inline-includes.ts';
import { pruneUnusedFunctions } from './prune-functions.ts';
import { luaIncludes, luaSources } from './lua.generated.ts';

/** A Redis client jobwire can use: standalone or Cluster. */
export type RedisClient = Redis | Cluster;

/** The transitions, by the name of their `.lua` file without the key count. */
export type ScriptName =
  | 'enqueue'
  | 'moveToActive'
  | 'complete'
  | 'fail'
  | 'extendLeases'
  | 'recoverStalled'
  | 'release'
  | 'updateProgress'
  | 'addLog'
  | 'promote'
  | 'retryJob'
  | 'removeJob'
  | 'cleanJobs'
  | 'setPaused'
  | 'drain'
  | 'removeRepeat'
  | 'setRepeat'
  | 'repairRepeat'
  | 'markLostLeases'
  | 'deferNewer'
  | 'noteReaders'
  | 'cancel'
  | 'migrate'
  | 'migrateRepeat'
  | 'checkLayout'
  | 'migrateLayout';

export interface LoadedScript {
  name: ScriptName;
  numberOfKeys: number;
  lua: string;
  /** SHA-1 of `lua`, as EVALSHA names it. */
  sha: string;
  /** Command name registered on clients: versioned by content hash. */
  command: string;
}

/**
 * The script texts come from lua.generated.ts (the .lua files and their
 * includes, see scripts/gen-lua.ts), inlined here once per process: a
 * built or bundled core then needs no files on disk next to its code.
 */
function load(): Map<ScriptName, LoadedScript> {
  const scripts = new Map<ScriptName, LoadedScript>();
  for (const [file, source] of Object.entries(luaSources)) {
    const lua = pruneUnusedFunctions(inlineIncludes(source, luaIncludes));
    const match = /^(\w+)-(\d+)\.lua$/.exec(file);
    if (!match) continue;
    const name = match[1] as ScriptName;
    const sha = createHash('sha1').update(lua).digest('hex');
    scripts.set(name, {
      name,
      numberOfKeys: Number(match[2]),
      lua,
      sha,
      command: `jobwire_${name}_${sha.slice(0, 8)}`,
    });
  }
  return scripts;
}

/** Every script, hashed once per process. */
export const scripts: ReadonlyMap<ScriptName, LoadedScript> = load();

const registered = new WeakSet<RedisClient>();

/**
 * Defines every script on a client once. ioredis then sends EVALSHA and
 * falls back to EVAL on NOSCRIPT, e.g. after a Redis restart.
 */
export function registerScripts(client: RedisClient): void {
  if (registered.has(client)) return;
  for (const s of scripts.values()) {
    client.defineCommand(s.command, {
      numberOfKeys: s.numberOfKeys,
      lua: s.lua,
    });
  }
  registered.add(client);
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** Looks a script up and checks its key count. */
function scriptFor(name: ScriptName, keyCount: number): LoadedScript {
  const s = scripts.get(name);
  if (s === undefined) throw new Error(`jobwire bug: no script ${name}`);
  if (keyCount !== s.numberOfKeys) {
    throw new Error(
      `jobwire bug: ${name} takes ${s.numberOfKeys} keys, got ${keyCount}`,
    );
  }
  return s;
}

/**
 * Whether a client rewrites or reroutes commands (keyPrefix, auto
 * pipelining) or builds an error stack per command: such a client gets
 * its scripts through ioredis's defined commands, which honour all three.
 */
function plainClient(client: RedisClient): boolean {
  const o = client.options;
  return (
    (o.keyPrefix ?? '') === '' &&
    o.enableAutoPipelining !== true &&
    o.showFriendlyErrorStack !== true
  );
}

/** As ioredis's own command functions decode replies. */
const utf8Replies = { replyEncoding: 'utf8' } as const;
const noArgs: never[] = [];

/** Whether a script call failed only because Redis did not have the script. */
export const isNoScript = (err: unknown): boolean =>
  err instanceof Error && err.message.startsWith('NOSCRIPT');

/**
 * Runs script `name` from EVALSHA's whole argument list, which no later
 * step copies: its SHA-1 (`scripts.get(name).sha`), key count, KEYS, ARGV.
 * The command is built bare and handed the list, because ioredis's
 * Command constructor copies its arguments with Array.prototype.flat, about
 * 150 ns per argument on Node 20 (some 4 µs for one enqueued job's 23), and
 * a defined command's wrapper copies them twice more. A NOSCRIPT reply
 * (nothing ran: the first call after a Redis restart or SCRIPT FLUSH) sends
 * the script itself once, with EVAL, which also caches it.
 */
export function runScriptCall(
  client: RedisClient,
  name: ScriptName,
  call: (string | number)[],
): Promise<unknown> {
  const s = scriptFor(name, Number(call[1]));
  if (!plainClient(client)) {
    registerScripts(client);
    const fn = (client as unknown as Record<string, ScriptFn>)[s.command]!;
    return fn.call(client, ...call.slice(2));
  }
  const command = new Command('evalsha', noArgs, utf8Replies);
  command.args = call;
  // What the constructor does to the arguments it is given (numbers to
  // strings); EVALSHA has no argument transformer.
  command.stringifyArguments();
  // Inline callback: a named one costs a naming call per script call
  // under esbuild's keepNames, which tsx applies.
  return (client.sendCommand(command) as Promise<unknown>).catch(
    (err: unknown) => {
      if (!isNoScript(err)) throw err;
      return client.eval(s.lua, ...(call.slice(1) as [number, ...string[]]));
    },
  );
}

/** Runs one script with its keys and arguments. */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const s = scriptFor(name, keys.length);
  return runScriptCall(client, name, [s.sha, keys.length, ...keys, ...args]);
}
