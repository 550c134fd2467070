/**
 * Codegen in a user's project (outside this repository): with the user's
 * tsconfig.json or none, imports spelled as the user's module settings
 * need, and generated code that compiles under a strict tsconfig.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  makeUserProject,
  USER_SCHEMA,
  type UserProject,
} from './user-project.ts';

const GENERATED = ['producer.ts', 'consumer.ts', 'testing.ts'] as const;

/** Every relative module specifier of the generated modules, by file. */
function relativeImports(p: UserProject, out = 'generated'): string[] {
  return GENERATED.flatMap((f) =>
    [...p.read(`${out}/${f}`).matchAll(/from ['"](\.[^'"]*)['"]/g)].map(
      (m) => `${f}: ${m[1]}`,
    ),
  );
}

const STRICT = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noPropertyAccessFromIndexSignature: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    skipLibCheck: false,
    outDir: 'dist',
    types: [],
  },
  include: ['jobs.schema.ts', 'generated', 'app.ts'],
};

/** A producer and a worker as a user writes them against the generated modules. */
const APP = `import { createJobsQueue, enqueueSendWelcome, enqueueResize, type SendWelcomeResult } from './generated/producer.js';
import { createJobsWorker, type JobHandlers } from './generated/consumer.js';
import { createTestJobsQueue } from './generated/testing.js';

const handlers: JobHandlers = {
  async sendWelcome(job) {
    const tags: string[] = job.data.tags;
    return { messageId: \`m-\${job.data.to}-\${tags.length}\` };
  },
  async resize(job) {
    const width: number = job.data.width;
    void width;
  },
};

export async function main(): Promise<SendWelcomeResult> {
  const queue = createJobsQueue({ connection: 'redis://127.0.0.1:1' });
  const worker = createJobsWorker(handlers, { connection: 'redis://127.0.0.1:1' });
  await enqueueResize(queue, { url: 'https://example.com/a.png' });
  const handle = await enqueueSendWelcome(queue, { to: 'ada@example.com' }, { priority: 'high' });
  const test = createTestJobsQueue();
  await enqueueSendWelcome(test, { to: 'bob@example.com', name: 'Bob' });
  const result = await handle.finished();
  await worker.close();
  await queue.close();
  return result;
}
`;

describe('codegen in a user project', { timeout: 300_000 }, () => {
  it('works without a tsconfig.json: strict defaults, .js imports', async () => {
    const p = makeUserProject();
    p.write('jobs.schema.ts', USER_SCHEMA);
    const r = await p.codegen();
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(relativeImports(p)).toEqual([
      'producer.ts: ../jobs.schema.js',
      'consumer.ts: ../jobs.schema.js',
      'consumer.ts: ./producer.js',
      'testing.ts: ../jobs.schema.js',
      'testing.ts: ./producer.js',
    ]);
    // The defaults still type-check the schema.
    p.write('jobs.schema.ts', USER_SCHEMA.replace('z.email()', 'z.email(42)'));
    const bad = await p.codegen();
    expect(bad.code).toBe(1);
    expect(bad.err).toHaveLength(1);
    expect(bad.err[0]).toMatch(
      new RegExp(
        `^jobs\\.schema\\.ts:${USER_SCHEMA.split('\n').findIndex((l) => l.includes('z.email()')) + 1}:\\d+: error: the schema file does not type-check \\(TS\\d+\\)`,
      ),
    );
  });

  it.each([
    {
      settings: { module: 'NodeNext', moduleResolution: 'NodeNext' },
      ext: '.js',
    },
    { settings: { module: 'Node16', moduleResolution: 'Node16' }, ext: '.js' },
    { settings: { module: 'ESNext', moduleResolution: 'Bundler' }, ext: '.js' },
    {
      settings: {
        module: 'ESNext',
        moduleResolution: 'Bundler',
        allowImportingTsExtensions: true,
        noEmit: true,
      },
      ext: '.ts',
    },
  ])(
    'reads $settings.moduleResolution (allowImportingTsExtensions: $settings.allowImportingTsExtensions) → $ext',
    async ({ settings, ext }) => {
      const p = makeUserProject();
      p.write('jobs.schema.ts', USER_SCHEMA);
      p.write(
        'tsconfig.json',
        JSON.stringify({ compilerOptions: { strict: true, ...settings } }),
      );
      const r = await p.codegen();
      expect(r.err).toEqual([]);
      expect(relativeImports(p)).toContain(`consumer.ts: ./producer${ext}`);
      expect(relativeImports(p)).toContain(`producer.ts: ../jobs.schema${ext}`);
    },
  );

  it('follows extends, and jobwire.config.json overrides the tsconfig', async () => {
    const p = makeUserProject();
    p.write('src/jobs.schema.ts', USER_SCHEMA);
    p.write(
      'config/base.json',
      JSON.stringify({
        compilerOptions: {
          module: 'ESNext',
          moduleResolution: 'Bundler',
          allowImportingTsExtensions: true,
          noEmit: true,
        },
      }),
    );
    // A comment and a trailing comma, as tsconfig.json allows.
    p.write(
      'tsconfig.json',
      '{\n  // shared settings\n  "extends": "./config/base.json",\n}\n',
    );
    p.write(
      'jobwire.config.json',
      JSON.stringify({ schema: 'src/jobs.schema.ts', out: 'src/gen' }),
    );
    expect((await p.codegen()).code).toBe(0);
    expect(relativeImports(p, 'src/gen')).toContain(
      'consumer.ts: ./producer.ts',
    );

    p.write(
      'jobwire.config.json',
      JSON.stringify({
        schema: 'src/jobs.schema.ts',
        out: 'src/gen',
        importExtension: '',
      }),
    );
    const r = await p.codegen();
    expect(r.err).toEqual([]);
    expect(relativeImports(p, 'src/gen')).toEqual([
      'producer.ts: ../jobs.schema',
      'consumer.ts: ../jobs.schema',
      'consumer.ts: ./producer',
      'testing.ts: ../jobs.schema',
      'testing.ts: ./producer',
    ]);
  });

  it('generates code that compiles under a strict NodeNext tsconfig with zero diagnostics', async () => {
    const p = makeUserProject();
    p.write('jobs.schema.ts', USER_SCHEMA);
    p.write('tsconfig.json', JSON.stringify(STRICT, null, 2));
    p.write('app.ts', APP);
    const r = await p.codegen();
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);

    const read = ts.readConfigFile(join(p.dir, 'tsconfig.json'), (f) =>
      ts.sys.readFile(f),
    );
    const config = ts.parseJsonConfigFileContent(read.config, ts.sys, p.dir);
    expect(config.errors).toEqual([]);
    expect(
      config.fileNames.map((f) => f.slice(p.dir.length + 1)).sort(),
    ).toEqual([
      'app.ts',
      'generated/consumer.ts',
      'generated/producer.ts',
      'generated/testing.ts',
      'jobs.schema.ts',
    ]);
    const program = ts.createProgram(config.fileNames, {
      ...config.options,
      noEmit: true,
    });
    // The user's own files and the generated ones must be clean. (Core's
    // sources, pulled in by the stand-in package, are judged by their own
    // tsconfig, not the user's; the built package is checked elsewhere.)
    const mine = ts
      .getPreEmitDiagnostics(program)
      .filter(
        (d) =>
          d.file === undefined ||
          (!d.file.fileName.includes('/node_modules/') &&
            d.file.fileName.startsWith(p.dir)),
      )
      .map(
        (d) =>
          `${d.file?.fileName ?? ''}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
      );
    expect(mine).toEqual([]);
    expect(
      program
        .getSourceFiles()
        .some((f) => f.fileName === join(p.dir, 'generated/producer.ts')),
    ).toBe(true);
  });
});
