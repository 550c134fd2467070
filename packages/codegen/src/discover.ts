import {
  createWrappedNode,
  Node,
  SyntaxKind,
  type ObjectLiteralExpression,
  type SourceFile,
  type Symbol as TsMorphSymbol,
} from 'ts-morph';
import { CodegenError, diagnosticText } from './errors.ts';
import { generatedIdentifiers } from './names.ts';
import { schemaProgram } from './program.ts';
import type { TsSettings } from './tsconfig.ts';

/** Where something is in the schema file. */
export interface Location {
  file: string;
  line: number;
  column: number;
}

/** What the schema file's source says about one job type. */
export interface JobSource {
  name: string;
  location: Location;
  /** JSDoc on the job's property in `defineJobs({...})`. */
  doc: string | undefined;
  /** JSDoc on the payload's top-level fields, by field name. */
  fieldDocs: Record<string, string>;
  /** Locations of the payload's top-level fields, by field name. */
  fieldLocations: Record<string, Location>;
  /**
   * The source text of each flow rule's `key` function as written in the
   * schema file (a named function or const resolved to its declaration), by
   * rule; a rule whose key the walk cannot follow statically is absent.
   */
  flowKeys: FlowKeySources;
}

/** The flow rules of `job({...})` that can take a key function. */
export const FLOW_RULES = [
  'rateLimit',
  'concurrency',
  'debounce',
  'throttle',
] as const;

/** One of the flow rules of `job({...})`. */
export type FlowRuleName = (typeof FLOW_RULES)[number];

/** Key function sources by flow rule. */
export type FlowKeySources = Partial<Record<FlowRuleName, string>>;

/** The schema file as read by ts-morph. */
export interface SchemaSource {
  file: string;
  /** The exported name of the `defineJobs(...)` value. */
  exportName: string;
  jobs: JobSource[];
}

const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function locate(node: Node): Location {
  const sf = node.getSourceFile();
  const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
  return { file: sf.getFilePath(), line, column };
}

/** The text of the `/** ... *\/` comment right before a node, if any. */
export function jsDocOf(node: Node): string | undefined {
  const ranges = node.getLeadingCommentRanges();
  const last = ranges[ranges.length - 1];
  if (!last) return undefined;
  const text = last.getText();
  if (!text.startsWith('/**')) return undefined;
  const body = text
    .slice(3, -2)
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trimEnd())
    .join('\n')
    .trim();
  return body === '' ? undefined : body;
}

/**
 * Parses and type-checks the schema file, then finds `defineJobs({...})`
 * and its job entries. Fails with file:line on anything codegen cannot use.
 * Only the schema file's own diagnostics count: a complaint about the
 * compiler options or another file is the user's tsc's to report.
 */
export function readSchemaSource(
  schemaPath: string,
  settings: TsSettings,
): SchemaSource {
  const compilerOptions = { ...settings.options, noEmit: true };
  const { program, sourceFile: own } = schemaProgram(
    schemaPath,
    compilerOptions,
  );
  // ts-morph's view of the checked tree: its walk follows references with
  // this program's checker.
  const sf = createWrappedNode(own, {
    compilerOptions,
    sourceFile: own,
    typeChecker: program.getTypeChecker(),
  });
  const diagnostics = [
    ...program.getSyntacticDiagnostics(own),
    ...program.getSemanticDiagnostics(own),
  ];
  const first = diagnostics[0];
  if (first) {
    const at = sf.getLineAndColumnAtPos(first.start ?? 0);
    throw new CodegenError(
      `the schema file does not type-check (TS${first.code}): ${diagnosticText(first)}${diagnostics.length > 1 ? `\n  (and ${diagnostics.length - 1} more)` : ''}`,
      { file: sf.getFilePath(), line: at.line, column: at.column },
    );
  }
  return findJobs(sf);
}

function findJobs(sf: SourceFile): SchemaSource {
  const call = sf
    .getDescendantsOfKind(SyntaxKind.CallExpression)
    .find((c) => c.getExpression().getText() === 'defineJobs');
  if (!call) {
    throw new CodegenError(
      'no defineJobs({...}) call found; export one from the schema file',
      {
        file: sf.getFilePath(),
        line: 1,
        column: 1,
      },
    );
  }
  const decl = call.getFirstAncestorByKind(SyntaxKind.VariableDeclaration);
  const exported = decl?.getVariableStatement()?.isExported() === true;
  if (!decl || !exported) {
    throw new CodegenError(
      'export the defineJobs({...}) result: `export const jobs = defineJobs({...})`',
      locate(call),
    );
  }
  const arg = call.getArguments()[0];
  if (!arg || !Node.isObjectLiteralExpression(arg)) {
    throw new CodegenError(
      'defineJobs() takes an object literal of job({...}) entries',
      locate(call),
    );
  }
  const seen = new Map<string, Location>();
  // The job type each generated identifier (`enqueue<P>`, `<P>Payload`,
  // `<P>Handler`, ...) comes from: 'send-email' and 'sendEmail' both give
  // `SendEmail`, and the generated modules would declare it twice.
  const identifiers = new Map<string, { name: string; location: Location }>();
  const jobs: JobSource[] = [];
  for (const prop of arg.getProperties()) {
    if (!Node.isPropertyAssignment(prop)) {
      throw new CodegenError(
        'each entry of defineJobs({...}) must be `name: job({...})`',
        locate(prop),
      );
    }
    const name = prop
      .getNameNode()
      .getText()
      .replace(/^['"]|['"]$/g, '');
    const location = locate(prop);
    if (!SAFE_NAME.test(name)) {
      throw new CodegenError(
        `job type name ${JSON.stringify(name)} is not allowed: use 1-64 characters, a letter first, then letters, digits, "_", "-" or "."`,
        location,
      );
    }
    const earlier = seen.get(name);
    if (earlier) {
      throw new CodegenError(
        `duplicate job type name "${name}" (first declared on line ${earlier.line})`,
        location,
      );
    }
    seen.set(name, location);
    const own = generatedIdentifiers(name);
    const clash = own.map((id) => identifiers.get(id)).find(Boolean);
    if (clash) {
      const shared = own.filter((id) => identifiers.get(id) === clash);
      const listed =
        shared.length > 3
          ? `${shared.slice(0, 3).join(', ')} and ${String(shared.length - 3)} more`
          : shared.join(', ');
      throw new CodegenError(
        `job type names ${JSON.stringify(clash.name)} (line ${String(clash.location.line)}, column ${String(clash.location.column)}) and ${JSON.stringify(name)} (line ${String(location.line)}, column ${String(location.column)}) generate the same ${shared.length === 1 ? 'identifier' : 'identifiers'} (${listed}); rename one of them`,
        location,
      );
    }
    const entry = { name, location };
    for (const id of own) identifiers.set(id, entry);
    const init = prop.getInitializer();
    const spec =
      init && Node.isCallExpression(init) ? init.getArguments()[0] : undefined;
    if (!spec || !Node.isObjectLiteralExpression(spec)) {
      throw new CodegenError(
        `job type "${name}" must be declared as job({...})`,
        location,
      );
    }
    const payload = spec.getProperty('payload');
    if (!payload) {
      throw new CodegenError(
        `job type "${name}" has no payload schema; add payload: z.object({...})`,
        location,
      );
    }
    const fields = payloadFields(payload);
    jobs.push({
      name,
      location,
      doc: jsDocOf(prop),
      ...fields,
      flowKeys: flowKeySources(spec),
    });
  }
  return { file: sf.getFilePath(), exportName: decl.getName(), jobs };
}

/** Docs and places of the payload's fields when it is a `z.object({...})` literal. */
function payloadFields(
  payload: Node,
): Pick<JobSource, 'fieldDocs' | 'fieldLocations'> {
  const fieldDocs: Record<string, string> = {};
  const fieldLocations: Record<string, Location> = {};
  const init = Node.isPropertyAssignment(payload)
    ? payload.getInitializer()
    : undefined;
  const objectArg = init
    ?.getDescendantsOfKind(SyntaxKind.ObjectLiteralExpression)
    .at(0) as ObjectLiteralExpression | undefined;
  for (const field of objectArg?.getProperties() ?? []) {
    if (!Node.isPropertyAssignment(field)) continue;
    const key = field
      .getNameNode()
      .getText()
      .replace(/^['"]|['"]$/g, '');
    fieldLocations[key] = locate(field);
    const doc = jsDocOf(field);
    if (doc) fieldDocs[key] = doc;
  }
  return { fieldDocs, fieldLocations };
}

/** References followed before giving up (a cycle, or a very long alias chain). */
const MAX_HOPS = 8;

/**
 * The node a value expression stands for: through parentheses, `as` and
 * `satisfies`, and from an identifier or `a.b` to the declaration's
 * initializer (imports included, through the checker's symbols). A function
 * declaration or method is its own value. Undefined when it cannot be
 * followed statically (a call result, a parameter, a spread).
 */
function valueOf(node: Node | undefined, hops = 0): Node | undefined {
  if (node === undefined || hops > MAX_HOPS) return undefined;
  if (
    Node.isParenthesizedExpression(node) ||
    Node.isAsExpression(node) ||
    Node.isSatisfiesExpression(node)
  )
    return valueOf(node.getExpression(), hops + 1);
  if (Node.isPropertyAssignment(node))
    return valueOf(node.getInitializer(), hops + 1);
  if (Node.isVariableDeclaration(node))
    return valueOf(node.getInitializer(), hops + 1);
  if (Node.isShorthandPropertyAssignment(node))
    return valueOf(declarationOf(node.getValueSymbol()), hops + 1);
  if (Node.isIdentifier(node) || Node.isPropertyAccessExpression(node)) {
    const name = Node.isIdentifier(node) ? node : node.getNameNode();
    if (!Node.isIdentifier(name)) return undefined;
    return valueOf(declarationOf(name.getSymbol()), hops + 1);
  }
  return node;
}

/** Where a symbol is declared, through an import or export alias to the original. */
function declarationOf(symbol: TsMorphSymbol | undefined): Node | undefined {
  const target = symbol?.isAlias() ? symbol.getAliasedSymbol() : symbol;
  return target?.getDeclarations()[0];
}

/** Each flow rule's key function source, where it can be found statically. */
function flowKeySources(spec: ObjectLiteralExpression): FlowKeySources {
  const out: FlowKeySources = {};
  for (const rule of FLOW_RULES) {
    const value = valueOf(spec.getProperty(rule));
    if (!value || !Node.isObjectLiteralExpression(value)) continue;
    const key = value.getProperty('key');
    // `key(p) { ... }`: the method is the function.
    const fn = Node.isMethodDeclaration(key) ? key : valueOf(key);
    if (
      fn &&
      (Node.isArrowFunction(fn) ||
        Node.isFunctionExpression(fn) ||
        Node.isFunctionDeclaration(fn) ||
        Node.isMethodDeclaration(fn)) &&
      // A declaration without a body (a package's .d.ts) says nothing of
      // what the function computes: the loaded function's text does.
      fn.getBody() !== undefined &&
      !fn.getSourceFile().isDeclarationFile()
    )
      out[rule] = fn.getText();
  }
  return out;
}
