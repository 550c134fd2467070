import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { commonJsReason } from '@jobwire/core';
import {
  breakingFor,
  diffContracts,
  formatChange,
  judgedMode,
} from './compat/index.ts';
import { canAccept, refusal, waysForward } from './compat/refusal.ts';
import { carryHistory } from './compat/versions.ts';
import { acceptanceDigest, buildContract, ContractError } from './contract.ts';
import type { Acceptance, Lock } from './contract-types.ts';
import type { ImportExtension } from './config.ts';
import { readSchemaSource } from './discover.ts';
import {
  emitConsumer,
  emitProducer,
  emitTesting,
  type EmitInput,
} from './emit.ts';
import { CodegenError } from './errors.ts';
import { IncompatibleChangeError } from './exit-codes.ts';
import { staleFiles, writeAllOrNothing } from './files.ts';
import { flowDoc } from './flow-text.ts';
import { readJsonFile } from './json-file.ts';
import { loadRegistry } from './load-schema.ts';
import { relativeImport } from './names.ts';
import {
  detectImportExtension,
  findTsconfig,
  readTsSettings,
} from './tsconfig.ts';

/** Where codegen reads and writes; relative paths resolve from `cwd`. */
export interface CodegenOptions {
  cwd: string;
  /** @defaultValue 'jobs.schema.ts' */
  schema?: string;
  /** Output directory of the generated modules. @defaultValue 'generated' */
  out?: string;
  /** The contract lock. @defaultValue 'jobs.lock.json' */
  lock?: string;
  /**
   * The tsconfig.json the schema is checked with and the import extension
   * is read from. @defaultValue the nearest tsconfig.json above the schema
   * file; without one, strict defaults
   */
  tsconfig?: string;
  /**
   * How the generated modules spell relative imports.
   * @defaultValue `.ts` when the tsconfig sets `allowImportingTsExtensions`
   * (or `rewriteRelativeImportExtensions`), else `.js`
   */
  importExtension?: ImportExtension;
  /** Compare instead of writing. */
  check?: boolean;
  /** Accept incompatible changes and record the acceptance in the lock. */
  accept?: boolean;
}

/** What a run did. */
export interface CodegenResult {
  /** Files written with new content (empty under `check`). */
  written: string[];
  /** Files that are out of date (only under `check`). */
  stale: string[];
  /** One line per change that is worth knowing but not breaking. */
  notes: string[];
}

/** The note of a change --accept recorded in the lock. */
const ACCEPTED_NOTE = 'accepted: ';

/** Generates (or, with `check`, verifies) the modules, contract.json and the lock. */
export async function runCodegen(
  options: CodegenOptions,
): Promise<CodegenResult> {
  const at = (p: string) => resolve(options.cwd, p);
  const schemaPath = at(options.schema ?? 'jobs.schema.ts');
  const outDir = at(options.out ?? 'generated');
  const lockPath = at(options.lock ?? 'jobs.lock.json');
  if (!existsSync(schemaPath))
    throw new CodegenError('schema file not found', { file: schemaPath });
  const commonJs = commonJsReason(schemaPath, options.cwd);
  if (commonJs !== undefined)
    throw new CodegenError(`cannot load the schema: ${commonJs}`, {
      file: schemaPath,
    });

  const tsconfig = findTsconfig(
    options.tsconfig === undefined ? undefined : at(options.tsconfig),
    schemaPath,
  );
  const settings = readTsSettings(tsconfig);
  const importExtension =
    options.importExtension ?? detectImportExtension(settings).extension;
  const source = readSchemaSource(schemaPath, settings);
  const registry = await loadRegistry(schemaPath, source.exportName, tsconfig);
  const byName = new Map(source.jobs.map((j) => [j.name, j]));
  let contract;
  try {
    contract = buildContract(
      registry,
      Object.fromEntries(
        source.jobs.flatMap((j) => (j.doc ? [[j.name, j.doc]] : [])),
      ),
      Object.fromEntries(source.jobs.map((j) => [j.name, j.flowKeys])),
    );
  } catch (err) {
    if (!(err instanceof ContractError)) throw err;
    const job = byName.get(err.job);
    const field =
      err.part === 'payload' ? err.path?.split(/[.[|{]/)[0] : undefined;
    throw new CodegenError(
      err.message,
      (field && job?.fieldLocations[field]) || job?.location,
    );
  }

  const lock = existsSync(lockPath) ? readLock(lockPath) : undefined;
  const notes: string[] = [];
  const accepted: Acceptance[] = [...(lock?.accepted ?? [])];
  const refused: ReturnType<typeof refusal>[] = [];
  if (lock) {
    for (const diff of diffContracts(lock, contract)) {
      const mode = judgedMode(
        lock.jobs[diff.job]?.compatibility,
        contract.jobs[diff.job]?.compatibility,
      );
      const breaking = new Set(breakingFor(diff, mode));
      for (const change of diff.changes) {
        const line = formatChange(diff.job, change);
        if (!breaking.has(change)) {
          notes.push(line);
          continue;
        }
        const next = contract.jobs[diff.job];
        const fingerprint = next?.fingerprint ?? '';
        const digest = next === undefined ? '' : acceptanceDigest(next);
        // The digest, not the fingerprint, decides: the fingerprint misses
        // refinements, transforms and pipe checks (and the flags of a
        // format's own regex, z.emoji()), so an edit of a refinement after
        // its acceptance would pass under the old one.
        const isAccepted = accepted.some(
          (a) =>
            a.job === diff.job &&
            a.part === change.part &&
            a.path === change.path &&
            a.kind === change.kind &&
            a.digest === digest,
        );
        if (isAccepted) continue;
        if (options.accept && canAccept(change)) {
          accepted.push({
            job: diff.job,
            part: change.part,
            path: change.path,
            kind: change.kind,
            fingerprint,
            digest,
            at: new Date().toISOString(),
          });
          notes.push(`${ACCEPTED_NOTE}${line}`);
        } else {
          refused.push(refusal(schemaPath, diff, change, mode, options.cwd));
        }
      }
    }
  }
  if (refused.length > 0) {
    const error = new IncompatibleChangeError(
      [
        `incompatible contract change${refused.length > 1 ? 's' : ''} against ${relative(options.cwd, lockPath)}:`,
        ...refused.map((r) => r.text),
        ...waysForward(
          refused,
          (job) => lock?.jobs[job]?.version ?? 1,
          (job) => Object.keys(contract.jobs[job]?.upcast ?? {}).map(Number),
        ),
      ].join('\n'),
      refused[0]!.location ?? byName.get(refused[0]!.job)?.location,
    );
    // Nothing is written when a run is refused, so the acceptances it made
    // are not recorded either: say so rather than "accepted".
    error.notes = notes.map((n) =>
      n.startsWith(ACCEPTED_NOTE)
        ? `not accepted, the run was refused (nothing was written): ${n.slice(ACCEPTED_NOTE.length)}`
        : n,
    );
    throw error;
  }

  for (const [name, job] of Object.entries(contract.jobs)) {
    const history = carryHistory(lock?.jobs[name], job, lock?.records);
    if (history !== undefined) job.history = history;
  }

  const emitInput: EmitInput = {
    schemaImport: relativeImport(outDir, schemaPath, importExtension),
    importExtension,
    exportName: source.exportName,
    fingerprint: contract.fingerprint,
    jobs: [...source.jobs].sort((a, b) => a.name.localeCompare(b.name)),
    flowDocs: Object.fromEntries(
      Object.entries(contract.jobs).flatMap(([name, job]) => {
        const doc = flowDoc(job.flow);
        return doc === undefined ? [] : [[name, doc]];
      }),
    ),
  };
  const prettierConfig = await prettierConfigFor(outDir);
  const ts = (text: string) =>
    format(text, { ...prettierConfig, parser: 'typescript' });
  const json = (value: unknown) =>
    format(JSON.stringify(value), { ...prettierConfig, parser: 'json' });
  const newLock: Lock = { ...contract, accepted };
  const files = new Map<string, string>([
    [resolve(outDir, 'producer.ts'), await ts(emitProducer(emitInput))],
    [resolve(outDir, 'consumer.ts'), await ts(emitConsumer(emitInput))],
    [resolve(outDir, 'testing.ts'), await ts(emitTesting(emitInput))],
    [
      resolve(outDir, 'contract.json'),
      await json({
        $comment: `auto-generated by jobwire codegen — do not edit. Contract fingerprint: ${contract.fingerprint}`,
        ...contract,
      }),
    ],
    [lockPath, await json(newLock)],
  ]);
  if (options.check) return { written: [], stale: staleFiles(files), notes };
  try {
    return { written: writeAllOrNothing(files), stale: [], notes };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CodegenError(`cannot write the generated files: ${e.message}`, {
      file: e.path ?? outDir,
    });
  }
}

/** The user's prettier settings for the output dir, so generated code matches their style. */
async function prettierConfigFor(outDir: string) {
  const probe = resolve(outDir, 'producer.ts');
  try {
    return (await resolveConfig(probe)) ?? {};
  } catch (err) {
    throw new CodegenError(
      `cannot read the prettier config for the output: ${(err as Error).message}`,
      { file: probe },
    );
  }
}

/** The lock file, checked to be one before the diff relies on its shape. */
function readLock(path: string): Lock {
  const file = readJsonFile(path);
  const value = file.value as Partial<Lock> | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.jobs !== 'object' ||
    value.jobs === null
  ) {
    throw new CodegenError(
      'not a jobwire contract lock (no "jobs" object); delete it to start a new one',
      file.at(),
    );
  }
  return value as Lock;
}
