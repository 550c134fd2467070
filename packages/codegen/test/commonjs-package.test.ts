/**
 * A schema Node would load as CommonJS (the package.json `npm init -y`
 * writes says "type": "commonjs"; an older one has no "type"): codegen
 * stops with one line naming the fix, instead of the error the CommonJS
 * load ran into ("Cannot redefine property: default"), and writes nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeUserProject, USER_SCHEMA } from './user-project.ts';

describe('codegen in a CommonJS package', { timeout: 300_000 }, () => {
  it.each([
    {
      pkg: { name: 'app', type: 'commonjs' },
      says: 'package.json says "type": "commonjs"',
    },
    { pkg: { name: 'app' }, says: 'package.json has no "type"' },
  ])(
    '$says: one line naming the fix, nothing written',
    async ({ pkg, says }) => {
      const p = makeUserProject();
      p.write('package.json', JSON.stringify(pkg));
      p.write('jobs.schema.ts', USER_SCHEMA);
      const r = await p.codegen();
      expect(r.out).toEqual([]);
      expect(r.err).toEqual([
        `jobs.schema.ts: error: cannot load the schema: Node loads it as CommonJS (${says}), but jobwire's schema and generated modules are ES modules: set "type": "module" in package.json (jobwire init does this)`,
      ]);
      expect(r.code).toBe(1);
      expect(existsSync(join(p.dir, 'generated'))).toBe(false);
      expect(existsSync(join(p.dir, 'jobs.lock.json'))).toBe(false);
    },
  );

  it('a .mts schema is an ES module whatever the package says', async () => {
    const p = makeUserProject();
    p.write('package.json', JSON.stringify({ name: 'app', type: 'commonjs' }));
    p.write('src/jobs.schema.mts', USER_SCHEMA);
    const r = await p.codegen('--schema', 'src/jobs.schema.mts');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
  });
});
