/**
 * The flow rules of a job type as contract.json records them: the numbers
 * as declared, and each key function as its reprinted source plus a hash,
 * so the compatibility check can tell when a limit or a key changed.
 */
import { shortHash } from '@jobwire/core';
import type { AnyJobDefinition } from '@jobwire/core';
import { ts } from 'ts-morph';
import type { FlowContract, FlowKeyContract } from './contract-types.ts';
import type { FlowKeySources, FlowRuleName } from './discover.ts';

const printer = ts.createPrinter({
  removeComments: true,
  newLine: ts.NewLineKind.LineFeed,
});

/** `key(p) { ... }` (an object method's text), as opposed to an expression. */
const METHOD = /^(?:async\s+)?(?!function\b)[A-Za-z_$][\w$]*\s*\(/;

/** The one function in `text`, printed without comments; undefined if it is not one. */
function reprint(text: string): string | undefined {
  const method = METHOD.test(text);
  const sf = ts.createSourceFile(
    'key.ts',
    method ? `({ ${text} })` : `(${text})`,
    ts.ScriptTarget.Latest,
    false,
    ts.ScriptKind.TS,
  );
  const statement = sf.statements[0];
  if (
    sf.statements.length !== 1 ||
    statement === undefined ||
    !ts.isExpressionStatement(statement)
  )
    return undefined;
  let node: ts.Node = statement.expression;
  if (ts.isParenthesizedExpression(node)) node = node.expression;
  if (method) {
    if (!ts.isObjectLiteralExpression(node) || node.properties.length !== 1)
      return undefined;
    node = node.properties[0]!;
  }
  dropTrailingCommas(node);
  return printer.printNode(ts.EmitHint.Unspecified, node, sf);
}

/**
 * Forgets trailing commas (a formatter's choice, like whitespace) in a tree
 * this module parsed itself; the printer would otherwise keep them.
 */
function dropTrailingCommas(node: ts.Node): void {
  ts.forEachChild(node, dropTrailingCommas, (nodes) => {
    (nodes as { hasTrailingComma: boolean }).hasTrailingComma = false;
    nodes.forEach(dropTrailingCommas);
  });
}

/** On one line (the printer ends every statement with `;`, so no ASI changes). */
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ');

/**
 * A function's text in one canonical form, on one line: parsed and printed
 * without comments, then, flattened, parsed and printed again, since the
 * printer keeps a block or an object on one line only when its source was.
 * Reformatting or re-commenting the function changes nothing; any change of
 * its tokens does. Text that does not parse as one function is kept as is.
 */
export function canonicalSource(text: string): string {
  // `export function byTenant(...)`: being exported is not what it computes.
  const trimmed = text.trim().replace(/^export\s+(?:default\s+)?/, '');
  const once = reprint(trimmed);
  if (once === undefined) return trimmed;
  return oneLine(reprint(oneLine(once)) ?? once);
}

function keyContract(
  rule: FlowRuleName,
  fn: unknown,
  sources: FlowKeySources,
): FlowKeyContract {
  // The loaded function's text is the transpiled one; the schema file's is
  // what the user wrote, so it is preferred.
  const source = canonicalSource(
    sources[rule] ?? (typeof fn === 'function' ? fn.toString() : String(fn)),
  );
  return { source, hash: shortHash(source) };
}

/**
 * The contract's record of a job type's flow rules, undefined without any.
 * `sources` holds the key functions' text from the schema file
 * (discover.ts); without it the loaded functions' text is used.
 */
export function buildFlow(
  def: AnyJobDefinition,
  sources: FlowKeySources = {},
): FlowContract | undefined {
  const f = def.flow;
  if (!f.rateLimit && !f.concurrency && !f.debounce && !f.throttle)
    return undefined;
  const out: FlowContract = {};
  if (f.rateLimit)
    out.rateLimit = {
      limit: f.rateLimit.limit,
      perMs: f.rateLimit.perMs,
      ...(f.rateLimit.keyed && f.groupKey
        ? { key: keyContract('rateLimit', f.groupKey, sources) }
        : {}),
    };
  if (f.concurrency && f.groupKey)
    out.concurrency = {
      limit: f.concurrency.limit,
      key: keyContract('concurrency', f.groupKey, sources),
    };
  if (f.debounce)
    out.debounce = {
      periodMs: f.debounce.periodMs,
      ...(f.debounce.key
        ? { key: keyContract('debounce', f.debounce.key, sources) }
        : {}),
    };
  if (f.throttle)
    out.throttle = {
      limit: f.throttle.limit,
      periodMs: f.throttle.periodMs,
      ...(f.throttle.key
        ? { key: keyContract('throttle', f.throttle.key, sources) }
        : {}),
    };
  return out;
}
