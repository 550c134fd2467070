import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** A Redis client jobwire can use: standalone or Cluster. */
export type RedisClient = Redis | Cluster;

const dir = new URL('.', import.meta.url);

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
  | 'markLostLeases';

export interface LoadedScript {
  name: ScriptName;
  numberOfKeys: number;
  lua: string;
  /** Command name registered on clients: versioned by content hash. */
  command: string;
}

const INCLUDE = /^-- @include (\w+)\s*$/m;

/** Inlines `-- @include name` directives from includes/, each at most once. */
function inline(source: string, seen = new Set<string>()): string {
  return source.replace(new RegExp(INCLUDE, 'gm'), (_line, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    const body = readFileSync(new URL(`includes/${name}.lua`, dir), 'utf8');
    return inline(body, seen);
  });
}

function load(): Map<ScriptName, LoadedScript> {
  const scripts = new Map<ScriptName, LoadedScript>();
  for (const file of readdirSync(dir)) {
    const match = /^(\w+)-(\d+)\.lua$/.exec(file);
    if (!match) continue;
    const name = match[1] as ScriptName;
    const lua = inline(readFileSync(new URL(file, dir), 'utf8'));
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

/** Every script, read and inlined once per process. */
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
