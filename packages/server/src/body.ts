import { ClientGoneError, HttpCode, HttpError } from './http-errors.ts';

/** Deepest JSON nesting accepted in a request body. */
export const MAX_JSON_DEPTH = 32;

/** Whether a request carries a body (by its framing headers). */
export function hasBody(req: Request): boolean {
  const len = req.headers.get('content-length');
  if (len !== null) return Number(len) > 0;
  return req.headers.get('transfer-encoding') !== null;
}

/** Whether the content type is `application/json` (any parameters). */
export function isJsonType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  return media === 'application/json';
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    HttpCode.BODY_TOO_LARGE,
    `request body is over the limit of ${limit} bytes`,
  );
}

/**
 * Reads the body as UTF-8, counting bytes as they arrive so an oversized
 * (or lying, chunked) body is cut off at the limit instead of buffered.
 */
async function readLimited(req: Request, limit: number): Promise<string> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (req.body === null) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (err) {
      // The client hung up mid-body: nobody is left to answer.
      throw new ClientGoneError(err);
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(
      Buffer.concat(chunks),
    );
  } catch {
    throw new HttpError(400, HttpCode.INVALID_JSON, 'body is not valid UTF-8');
  }
}

/**
 * Nesting depth of JSON text, scanned without recursion before parsing, so a
 * hostile `[[[[…` body costs one linear pass and no deep object graph.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return max;
}

/** Reads, size-checks, depth-checks and parses a JSON request body. */
export async function readJson(req: Request, limit: number): Promise<unknown> {
  const text = await readLimited(req, limit);
  if (text.trim() === '') {
    throw new HttpError(400, HttpCode.INVALID_JSON, 'request body is empty');
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new HttpError(
      400,
      HttpCode.JSON_TOO_DEEP,
      `JSON nesting is deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(
      400,
      HttpCode.INVALID_JSON,
      `body is not valid JSON: ${(err as Error).message}`,
    );
  }
}
