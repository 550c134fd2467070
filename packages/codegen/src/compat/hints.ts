import { VOICES, type Change, type Role } from './types.ts';

/** What to do about one kind of change, when it breaks the job's mode. */
const HINTS: Record<string, string> = {
  REQUIRED_PROPERTY_ADDED:
    'make the field .optional() or give it a .default(...), so jobs already queued without it still parse',
  BECAME_REQUIRED:
    'keep the field optional, or give it a .default(...) for jobs that lack it',
  BECAME_OPTIONAL:
    'deploy every worker with the new schema before any producer omits the field, or keep it required',
  PROPERTY_REMOVED:
    'keep the field (as .optional()) until no queued job or running worker uses it, then remove it',
  PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL:
    'keep the field (as .optional()) while queued jobs still carry it, or make the object non-strict',
  OPTIONAL_PROPERTY_ADDED:
    'deploy workers with the new schema before producers set the field',
  TYPE_CHANGED:
    'add a new field with the new type, write both for a while, then remove the old one',
  CONST_CHANGED:
    'add the new literal next to the old one (a union or enum) until old jobs have drained',
  FORMAT_CHANGED:
    'add a new field with the new format, and remove the old one once old jobs have drained',
  PATTERN_CHANGED:
    'check that the new regex accepts every stored value, then --accept',
  TYPE_NARROWED:
    'drain the queued jobs that hold the removed type before narrowing, then --accept',
  NULLABLE_REMOVED:
    'drain the queued jobs that hold null before removing .nullable(), then --accept',
  ENUM_VALUE_REMOVED:
    'drain the queued jobs that use the value before removing it, then --accept',
  UNION_MEMBER_REMOVED:
    'drain the queued jobs of that option before removing it, then --accept',
  TYPE_WIDENED:
    'deploy workers with the new schema first; then let producers send the new type',
  NULLABLE_ADDED:
    'deploy workers with the new schema first; then let producers send null',
  ENUM_VALUE_ADDED:
    'deploy workers with the new schema first; then let producers send the value',
  UNION_MEMBER_ADDED:
    'deploy workers with the new schema first; then let producers send the new option',
  CUSTOM_CHECK_ADDED:
    'check that queued jobs pass the new refinement, then --accept',
  CUSTOM_CHECK_CHANGED:
    'check that both versions of the refinement accept the same data, then --accept',
  CUSTOM_CHECK_REMOVED:
    'deploy workers without the check before producers rely on its absence, then --accept',
  LENIENT_WRITER_ADDED:
    'deploy workers with the coercion first, or coerce in the producer before enqueueing',
  LENIENT_WRITER_REMOVED:
    'drain the jobs the coercion let through before removing it, then --accept',
  LENIENT_WRITER_CHANGED:
    'check that the new function maps stored values the same way, then --accept',
  ADDITIONAL_PROPERTIES_REMOVED:
    'keep the object non-strict until queued jobs with extra keys have drained',
  ADDITIONAL_PROPERTIES_NARROWED:
    'keep unknown keys allowed until queued jobs with extra keys have drained',
  ADDITIONAL_PROPERTIES_ADDED:
    'deploy workers with the new schema before producers send extra keys',
  ADDITIONAL_PROPERTIES_EXTENDED:
    'deploy workers with the new schema before producers send extra keys',
  PATTERN_PROPERTIES_CHANGED: 'compare the key patterns by hand, then --accept',
  RESULT_ADDED:
    'make the result schema accept undefined (.optional()) while results of old workers remain',
  RESULT_REMOVED:
    'keep the result schema until no awaiter reads it, or bump the version',
  VERSION_LOWERED:
    'set `version` back to the locked one: versions only go up, and --accept cannot take a lowered one (for a new payload, bump past it with an upcaster). If the higher version never reached Redis, restore the lock from before it instead (e.g. git checkout jobs.lock.json)',
  VERSION_SKIPPED:
    "bump one version at a time, running codegen at each: first to the locked version + 1, with the next step's `from` as the payload, then on with that step (its `from` is then held to the locked payload); or, having checked that each skipped version's `from` accepts what the step before it returns, --accept",
  PIPE_CHECK_ADDED:
    'check that queued jobs pass the checks on the piped (or trimmed, lower-cased) value, then --accept',
  PIPE_CHECK_CHANGED:
    'check that both versions of the piped checks accept the same data, then --accept',
  PIPE_CHECK_REMOVED:
    'deploy workers without the piped checks before producers rely on their absence, then --accept',
  SCHEMA_CHANGED: 'compare the JSON Schemas by hand, then --accept',
  KEYWORD_CHANGED: 'compare the JSON Schemas by hand, then --accept',
};

/**
 * Kinds whose own advice is to drain the stored data the change rejects:
 * for a payload, an upcaster (with a version bump) converts it instead.
 * `jobwire migrate` is no alternative to either: it rewrites jobs of older
 * versions only, so without a bump it has nothing to rewrite.
 */
const DRAINED = new Set([
  'TYPE_NARROWED',
  'NULLABLE_REMOVED',
  'ENUM_VALUE_REMOVED',
  'UNION_MEMBER_REMOVED',
  'LENIENT_WRITER_REMOVED',
]);

/**
 * The advice for one change. Kinds without their own entry (bounds,
 * formats, multipleOf, ...) get the advice of their direction: a narrowing
 * of a payload is bridged by an upcaster that keeps the old rule in `from`
 * (docs/changing-contracts.md, "Narrow a limit"), or waits for old data to
 * drain; a widening deploys readers first.
 */
export function hintFor(change: Change): string {
  if (change.upcastFrom !== undefined) return fromHint(change.upcastFrom);
  const own = partHint(change);
  if (own !== undefined) return own;
  return kindHint(change);
}

/** A .catch() added: its writers store anything, so its readers go first. */
const CATCH_ADDED: Record<Role, string> = {
  payload:
    'deploy workers with the .catch() first, then producers; or check the value before enqueueing until every worker has it',
  result:
    'deploy awaiters with the .catch() first, then workers; or keep handlers returning the old type there until every awaiter has it',
  progress:
    'deploy listeners with the .catch() first, then workers; or keep handlers reporting the old type there until every listener has it',
};

/**
 * Advice that depends on the part or on which lenient writer was added:
 * HINTS speaks of queued jobs and of coercion, which is wrong for a
 * result's field or for a .catch().
 */
function partHint(change: Change): string | undefined {
  if (change.part === 'job') return undefined;
  const voice = VOICES[change.part];
  if (
    change.kind === 'LENIENT_WRITER_ADDED' &&
    change.summary.startsWith('.catch()')
  ) {
    return CATCH_ADDED[change.part];
  }
  if (change.part === 'payload') return undefined;
  if (change.kind === 'REQUIRED_PROPERTY_ADDED')
    return `make the field .optional() or give it a .default(...), so ${voice.stored} without it still ${change.part === 'progress' ? 'parses' : 'parse'}`;
  if (change.kind === 'BECAME_REQUIRED')
    return `keep the field optional, or give it a .default(...) for ${voice.stored} without it`;
  return undefined;
}

function kindHint(change: Change): string {
  const payload = change.part === 'payload';
  const own = HINTS[change.kind];
  if (own !== undefined)
    return payload && DRAINED.has(change.kind)
      ? `bump the version with an upcaster (below) that converts the queued jobs this rejects; or ${own}`
      : own;
  const breaks = (v: string) => v === 'breaks' || v === 'unknown';
  if (breaks(change.backward) && breaks(change.forward))
    return 'add a new field with the new rule and remove the old one once old jobs have drained';
  if (breaks(change.backward))
    return payload
      ? 'bump the version with an upcaster (below) whose `from` keeps the old rule and whose `to` clamps or converts what it no longer allows; or drain the queued jobs the tighter rule rejects, then --accept'
      : 'wait until no stored value breaks the tighter rule (those kept under the old one expire with retention), then --accept; upcasters convert payloads only';
  return 'deploy the readers (workers) with the new schema first, then the writers';
}

/**
 * The advice for a change in an upcaster's `from`: `from` reads jobs that
 * version's producers already stored, so the fix is in `from` itself, not
 * in the payload, and no further upcaster bridges it.
 */
function fromHint(version: number): string {
  const v = String(version);
  return `make \`upcast[${v}].from\` accept every version ${v} payload still queued: write it as the version ${v} payload schema was (the lock records it), without this change; or drain the version ${v} jobs it rejects first, then --accept`;
}
