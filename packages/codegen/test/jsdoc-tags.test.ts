/**
 * A job's own JSDoc may end in block tags (`@deprecated`, `@example`).
 * Codegen appended its own paragraphs (the payload fields, the validation
 * note, the handler note) after them, so editors showed that text as part
 * of the last tag. The generated text now goes before the first block tag.
 */
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { JobSource } from '../src/discover.ts';
import { emitConsumer, emitProducer, type EmitInput } from '../src/emit.ts';

const DOC = [
  'Charges a card.',
  '',
  'Not tags: `@code` in a code span, billing@example.com.',
  '@deprecated use chargeV2',
  '@example enqueueChargeCard(q, { amountCents: 1 })',
].join('\n');

const job = (doc: string | undefined): JobSource => ({
  name: 'chargeCard',
  location: { file: 'x', line: 1, column: 1 },
  doc,
  fieldDocs: { amountCents: 'Amount in cents.' },
  fieldLocations: {},
  flowKeys: {},
});

const input = (doc: string | undefined): EmitInput => ({
  schemaImport: '../jobs.schema.js',
  importExtension: '.js',
  exportName: 'jobs',
  fingerprint: '0',
  jobs: [job(doc)],
});

/** The description and the tags (name → comment) of a declaration's JSDoc. */
function jsdocOf(
  source: string,
  name: string,
): { description: string; tags: Record<string, string> } {
  const sf = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, true);
  let found: ts.Node | undefined;
  const visit = (node: ts.Node) => {
    if (
      (ts.isFunctionDeclaration(node) || ts.isTypeAliasDeclaration(node)) &&
      node.name?.text === name
    )
      found = node;
    ts.forEachChild(node, visit);
  };
  visit(sf);
  if (!found) throw new Error(`${name} not found`);
  const [doc] = ts.getJSDocCommentsAndTags(found).filter(ts.isJSDoc);
  const text = (c: ts.JSDoc['comment']) =>
    typeof c === 'string' ? c : (ts.getTextOfJSDocComment(c) ?? '');
  return {
    description: text(doc?.comment),
    tags: Object.fromEntries(
      (doc?.tags ?? []).map((t) => [t.tagName.text, text(t.comment)]),
    ),
  };
}

describe("generated JSDoc and the job's own block tags", () => {
  const producer = emitProducer(input(DOC));
  const consumer = emitConsumer(input(DOC));

  it.each([
    ['enqueueChargeCard', producer, 'a bad one throws ValidationError'],
    ['enqueueChargeCardBulk', producer, 'Bulk variant'],
    ['ChargeCardHandler', consumer, 'Handler of `chargeCard`'],
  ])(
    '%s: generated text before the tags, the tags as written',
    (name, source, generated) => {
      const { description, tags } = jsdocOf(source, name);
      expect(description).toMatch(/^Charges a card\./);
      expect(description).toContain('billing@example.com');
      expect(description).toContain(generated);
      expect(tags).toEqual({
        deprecated: 'use chargeV2',
        example: 'enqueueChargeCard(q, { amountCents: 1 })',
      });
    },
  );

  it('enqueue: the payload field list is in the description too', () => {
    const { description } = jsdocOf(producer, 'enqueueChargeCard');
    expect(description).toContain('- `amountCents`: Amount in cents.');
  });

  it('a tag that starts mid-line: the text before it stays the description', () => {
    const c = emitConsumer(input('Charges. @deprecated use chargeV2'));
    const { description, tags } = jsdocOf(c, 'ChargeCardHandler');
    expect(description).toMatch(/^Charges\.\n\nHandler of `chargeCard`/);
    expect(tags).toEqual({ deprecated: 'use chargeV2' });
  });

  it('a comment of tags only gets the default description', () => {
    const p = emitProducer(input('@deprecated use chargeV2'));
    const { description, tags } = jsdocOf(p, 'enqueueChargeCard');
    expect(description).toMatch(/^Enqueues a `chargeCard` job\./);
    expect(description).toContain('a bad one throws ValidationError');
    expect(tags).toEqual({ deprecated: 'use chargeV2' });
  });
});
