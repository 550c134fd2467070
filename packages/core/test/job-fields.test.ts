import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JobField } from '../src/redis/job-fields.ts';

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
  if (key === 'jk' || /^base \.\. 'j:' \.\. \w+$/.test(key)) return true;
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
  it('every field a Lua script reads or writes on a job hash is in JobField, and every JobField is used', () => {
    const known = new Set<string>(Object.values(JobField));
    const used = new Set<string>();
    const unknown: string[] = [];
    let checked = 0;
    for (const { file, text } of luaSources()) {
      for (const [commandArg, key, ...rest] of redisCalls(text)) {
        const command = /^'(\w+)'$/.exec(commandArg ?? '')?.[1] ?? '';
        if (!command.startsWith('H') || key === undefined) continue;
        if (!isJobHash(file, key)) continue;
        for (const field of fieldsOf(command, rest)) {
          checked++;
          const literal = /^'([a-z]+)'$/.exec(field)?.[1];
          if (literal === undefined) {
            unknown.push(`${file}: ${command} with computed field ${field}`);
          } else if (!known.has(literal)) {
            unknown.push(`${file}: ${command} field '${literal}'`);
          } else used.add(literal);
        }
      }
    }
    // The scanner found the calls (a broken one would pass vacuously).
    expect(checked).toBeGreaterThan(50);
    expect(unknown).toEqual([]);
    expect([...known].filter((f) => !used.has(f))).toEqual([]);
  });

  it('gives each field its own letters', () => {
    const letters = Object.values(JobField);
    expect(new Set(letters).size).toBe(letters.length);
  });
});
