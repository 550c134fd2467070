import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { substituteFields } from '../scripts/gen-lua.ts';
import { JobField } from '../src/redis/job-fields.ts';
import {
  luaIncludes,
  luaSources as generated,
} from '../src/redis/scripts/lua.generated.ts';

const scriptDir = new URL('../src/redis/scripts/', import.meta.url);

/** Every Lua source: the scripts and their includes. */
function luaSources(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const dir of ['', 'includes/']) {
    for (const file of readdirSync(new URL(dir, scriptDir))) {
      if (!file.endsWith('.lua')) continue;
      const text = readFileSync(new URL(dir + file, scriptDir), 'utf8');
      out.push({ file: dir + file, text });
    }
  }
  return out;
}

/** The arguments of each `redis.call(...)`, split at top-level commas. */
function redisCalls(text: string): string[][] {
  const calls: string[][] = [];
  const opener = 'redis.call(';
  for (let at = text.indexOf(opener); at >= 0; at = text.indexOf(opener, at)) {
    let depth = 1;
    let quote: string | undefined;
    let arg = '';
    const args: string[] = [];
    let i = at + opener.length;
    for (; i < text.length && depth > 0; i++) {
      const ch = text[i]!;
      if (quote !== undefined) {
        if (ch === quote) quote = undefined;
      } else if (ch === "'" || ch === '"') quote = ch;
      else if (ch === '(') depth++;
      else if (ch === ')') depth--;
      if (depth === 0) break;
      if (quote === undefined && depth === 1 && ch === ',') {
        args.push(arg.trim());
        arg = '';
      } else arg += ch;
    }
    args.push(arg.trim());
    calls.push(args);
    at = i;
  }
  return calls;
}

/** A key expression naming a job hash. */
function isJobHash(file: string, key: string): boolean {
  if (key === 'jk' || /^base \.\. 'j:' \.\. \S+$/.test(key)) return true;
  // These scripts take the job hash itself as KEYS[1].
  return (
    key === 'KEYS[1]' &&
    (file.startsWith('addLog-') || file.startsWith('updateProgress-'))
  );
}

/** The field names a hash command on a job hash reads or writes. */
function fieldsOf(command: string, rest: string[]): string[] {
  switch (command) {
    case 'HSET':
      return rest.filter((_, i) => i % 2 === 0);
    case 'HINCRBY':
      return rest.slice(0, 1);
    case 'HGET':
    case 'HMGET':
    case 'HDEL':
    case 'HEXISTS':
      return rest;
    default:
      return [];
  }
}

describe('job-hash fields', () => {
  it('every field a Lua script reads or writes on a job hash is an F.<name> token of JobField, and every JobField is used', () => {
    const known = new Set<string>(Object.keys(JobField));
    const used = new Set<string>();
    const wrong: string[] = [];
    let checked = 0;
    for (const { file, text } of luaSources()) {
      for (const [commandArg, key, ...rest] of redisCalls(text)) {
        const command = /^'(\w+)'$/.exec(commandArg ?? '')?.[1] ?? '';
        if (!command.startsWith('H') || key === undefined) continue;
        if (!isJobHash(file, key)) continue;
        for (const field of fieldsOf(command, rest)) {
          checked++;
          // A literal letter ('s') would bypass the table: gen:lua only
          // checks tokens, so the scripts must use tokens throughout.
          const name = /^F\.(\w+)$/.exec(field)?.[1];
          if (name === undefined) {
            wrong.push(`${file}: ${command} field ${field} is not F.<name>`);
          } else if (!known.has(name)) {
            wrong.push(
              `${file}: ${command} field F.${name} is not in JobField`,
            );
          } else used.add(name);
        }
      }
    }
    // The scanner found the calls (a broken one would pass vacuously).
    expect(checked).toBeGreaterThan(50);
    expect(wrong).toEqual([]);
    expect([...known].filter((f) => !used.has(f))).toEqual([]);
  });

  it('gen:lua replaces each token with its letter and fails on an unknown one', () => {
    expect(
      substituteFields("redis.call('HGET', jk, F.state, F.token)", 'x.lua'),
    ).toBe("redis.call('HGET', jk, 's', 'tk')");
    expect(() =>
      substituteFields("redis.call('HGET', jk, F.stat)", 'x-1.lua'),
    ).toThrow(/x-1\.lua names job field F\.stat/);
    // The scripts Redis runs carry letters only: no token is left over.
    for (const [file, lua] of Object.entries({
      ...generated,
      ...luaIncludes,
    })) {
      expect(lua, file).not.toMatch(/\bF\.\w/);
    }
  });

  it('gives each field its own letters', () => {
    const letters = Object.values(JobField);
    expect(new Set(letters).size).toBe(letters.length);
  });
});
