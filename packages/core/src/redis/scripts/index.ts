import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
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
    const version = createHash('sha1').update(lua).digest('hex').slice(0, 8);
    scripts.set(name, {
      name,
      numberOfKeys: Number(match[2]),
      lua,
      command: `jobwire_${name}_${version}`,
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

/** Runs one script with its keys and arguments. */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const s = scripts.get(name);
  if (s === undefined) throw new Error(`jobwire bug: no script ${name}`);
  if (keys.length !== s.numberOfKeys) {
    throw new Error(
      `jobwire bug: ${name} takes ${s.numberOfKeys} keys, got ${keys.length}`,
    );
  }
  registerScripts(client);
  const fn = (client as unknown as Record<string, ScriptFn>)[s.command];
  if (fn === undefined) throw new Error(`jobwire bug: ${name} not registered`);
  return fn.call(client, ...keys, ...args);
}
