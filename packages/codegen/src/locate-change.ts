import { Node, Project, SyntaxKind } from 'ts-morph';
import type { Location } from './discover.ts';

/**
 * Where a changed field is declared in the schema file: the property node
 * of each path step inside the job's `payload`/`result`/`progress`
 * expression, or, for a change in an upcaster's `from`
 * (`upcast[1].from.field`), inside that step's `from`, as deep as the
 * source spells it out. A change of the job type itself is at the property
 * its path names (`version`), else at the job. Undefined when the job
 * cannot be found (the caller falls back to the job's line).
 */
export function locateChange(
  schemaPath: string,
  job: string,
  part: string,
  path: string,
): Location | undefined {
  const project = new Project({
    skipAddingFilesFromTsConfig: true,
    skipFileDependencyResolution: true,
  });
  const sf = project.addSourceFileAtPath(schemaPath);
  const call = sf
    .getDescendantsOfKind(SyntaxKind.CallExpression)
    .find((c) => c.getExpression().getText() === 'defineJobs');
  const registry = call?.getArguments()[0];
  if (!registry || !Node.isObjectLiteralExpression(registry)) return undefined;
  const jobNode = registry
    .getProperties()
    .find((p) => Node.isPropertyAssignment(p) && nameOf(p) === job);
  if (!jobNode) return undefined;
  const at: Node = jobNode;
  // A change of the job type itself: at the property it names, if any
  // (`version`), else at the job.
  if (part === 'job')
    return locate((path && shallowestProperty(at, path)) || at);
  // A change in an upcaster's `from` (`upcast[1].from.field`): the path
  // goes on inside that step's `from`, else stops at the step or `upcast`.
  const step = /^upcast\[(\d+)\]\.from(?:$|\.)/.exec(path);
  if (part === 'payload' && step) {
    const upcast = shallowestProperty(at, 'upcast');
    if (!upcast) return locate(at);
    const entry = shallowestProperty(upcast, step[1]!);
    if (!entry) return locate(upcast);
    const from = shallowestProperty(entry, 'from');
    if (!from) return locate(entry);
    return locate(descend(from, path.slice(step[0].length)));
  }
  const partNode = shallowestProperty(at, part);
  if (!partNode) return locate(at);
  return locate(descend(partNode, path));
}

/**
 * The node of the deepest step of `path` spelled out below `at`: names,
 * and union/tuple indexes (`|1`, `[0]`) into array literals.
 */
function descend(at: Node, path: string): Node {
  for (const step of path.match(/[^.[\]|{}*]+|\|\d+|\[\d+\]/g) ?? []) {
    const index = /^\|(\d+)$|^\[(\d+)\]$/.exec(step);
    const next = index
      ? at
          .getFirstDescendantByKind(SyntaxKind.ArrayLiteralExpression)
          ?.getElements()[Number(index[1] ?? index[2])]
      : shallowestProperty(at, step);
    if (!next) break;
    at = next;
  }
  return at;
}

const nameOf = (p: Node): string =>
  Node.isPropertyAssignment(p)
    ? p
        .getNameNode()
        .getText()
        .replace(/^['"]|['"]$/g, '')
    : '';

/** The property named `name` nearest to `root` (fewest ancestors between). */
function shallowestProperty(root: Node, name: string): Node | undefined {
  let best: Node | undefined;
  let depth = Infinity;
  for (const p of root.getDescendantsOfKind(SyntaxKind.PropertyAssignment)) {
    if (nameOf(p) !== name) continue;
    const d = p.getAncestors().length;
    if (d < depth) [best, depth] = [p, d];
  }
  return best;
}

function locate(node: Node): Location {
  const sf = node.getSourceFile();
  const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
  return { file: sf.getFilePath(), line, column };
}
