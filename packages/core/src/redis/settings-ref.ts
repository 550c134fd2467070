import { createHash } from 'node:crypto';

const REF_DIGITS =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The settings ref (layout 3, JobField.settingsRef) of a type's default
 * settings: 36 bits of the SHA-1 of `<fingerprint>|<options JSON>` as 6
 * base64url digits, lowest first. The producer derives it once per
 * settings object, so an enqueue call costs Redis no hashing; repeat
 * occurrences derive it in Lua (settingsRef in scripts/includes/base.lua)
 * the same way, so equal settings share one entry. Either way the script
 * that writes a ref checks the entry it names, so a collision only leaves
 * a job's settings inline.
 */
export function settingsRefOf(
  fingerprint: string,
  optionsJson: string,
): string {
  let n = parseInt(
    createHash('sha1')
      .update(`${fingerprint}|${optionsJson}`)
      .digest('hex')
      .slice(0, 9),
    16,
  );
  let ref = '';
  for (let i = 0; i < 6; i++) {
    ref += REF_DIGITS[n % 64];
    n = Math.floor(n / 64);
  }
  return ref;
}
