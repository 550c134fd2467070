/**
 * Drops the include functions a script never calls.
 *
 * Redis runs a script's whole chunk on every EVALSHA, so each
 * `local function` of every include it pulls in becomes a new closure per
 * call, and garbage after it. For a lone enqueue that was about a sixth of
 * the script's instructions (callgrind: 37k of 225k per call), spent on
 * helpers such as the flow-control ones that a plain job never reaches.
 *
 * Includes declare their helpers as `local function name(` at the start of
 * a line and close them with `end` alone at the start of a line (nested
 * code is indented); a helper is kept when its name appears anywhere else
 * in the script outside full-line comments, so a mention in a trailing
 * comment keeps one alive but nothing in use is ever dropped.
 */

interface FunctionBlock {
  name: string;
  start: number;
  end: number;
}

const HEADER = /^local function (\w+)\(/gm;
const BLOCK_END = /^end[ \t]*$/m;

function functionBlocks(lua: string): FunctionBlock[] {
  const blocks: FunctionBlock[] = [];
  for (const m of lua.matchAll(HEADER)) {
    const start = m.index;
    const rest = lua.slice(start);
    const close = BLOCK_END.exec(rest);
    if (close === null) {
      throw new Error(`Lua function ${m[1]} has no closing "end" line`);
    }
    blocks.push({ name: m[1]!, start, end: start + close.index + 3 });
  }
  return blocks;
}

/** The code a name can be called from: full-line comments removed. */
function codeOnly(text: string): string {
  return text.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/^[ \t]*--.*$/gm, '');
}

/** How many times each word occurs in the code of `text`. */
function wordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [word] of codeOnly(text).matchAll(/\w+/g)) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/**
 * Removes every top-level `local function` that nothing else in `lua`
 * names, repeating until none is left (dropping one can orphan another).
 * It runs once per script when core loads, so each pass counts the words
 * of the script once: a helper is used when its name occurs more often in
 * the whole script than in its own block.
 */
export function pruneUnusedFunctions(lua: string): string {
  let text = lua;
  for (;;) {
    const blocks = functionBlocks(text);
    const total = wordCounts(text);
    const unused = blocks.filter((b) => {
      const own = codeOnly(text.slice(b.start, b.end)).match(
        new RegExp(`\\b${b.name}\\b`, 'g'),
      )!.length;
      return (total.get(b.name) ?? 0) <= own;
    });
    if (unused.length === 0) return text;
    // Cut from the end so earlier offsets stay valid.
    for (const b of unused.reverse()) {
      text = text.slice(0, b.start) + text.slice(b.end);
    }
  }
}
