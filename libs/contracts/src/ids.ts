import { randomBytes } from 'node:crypto';

/** Prefixes of every public id. */
export const ID_PREFIX = {
  project: 'prj',
  key: 'key',
  user: 'usr',
  client: 'cli',
  ticket: 'tkt',
  invitation: 'inv',
  request: 'req',
  deadLetter: 'dlq',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

/** The alphabet of ids, secrets and tags. */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Random bytes are drawn from the CSPRNG 4 KiB at a time: one syscall serves ~100 ids, which
// matters on the request path (every response gets a request id).
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function nextRandomByte(): number {
  if (poolOffset >= pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  return pool[poolOffset++];
}

/** `length` characters of base62 from a CSPRNG, without modulo bias. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const byte = nextRandomByte();
    // 248 = 62 * 4: bytes at or above it would bias the alphabet, so they are skipped.
    if (byte < 248) out += BASE62[byte % 62];
  }
  return out;
}

/** A new random, URL-safe, prefixed id such as `prj_3fQ9…`. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${randomBase62(20)}`;
}

const ID_BODY = /^[0-9A-Za-z]{1,64}$/;

/** Whether `value` looks like an id of `kind` (shape only; says nothing about existence). */
export function isId(kind: IdKind, value: string): boolean {
  const prefix = `${ID_PREFIX[kind]}_`;
  return value.startsWith(prefix) && ID_BODY.test(value.slice(prefix.length));
}
