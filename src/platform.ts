/**
 * @module Runtime services the core needs, behind one small interface.
 *
 * The core never touches Node-only APIs: time, randomness and hashing come from here, so that the
 * Workers entry can run the same code. Web Crypto (`globalThis.crypto`) exists on Node 20 and workerd.
 */

export interface Platform {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Cryptographically random bytes. */
  randomBytes(length: number): Uint8Array;
  /** SHA-256 of a UTF-8 string, hex encoded. */
  sha256(value: string): Promise<string>;
}

// getRandomValues has a fixed cost per call: draw in blocks and hand out slices.
const POOL_SIZE = 4096;
let pool = new Uint8Array(0);
let poolAt = POOL_SIZE;

function drawRandom(length: number): Uint8Array {
  if (length > POOL_SIZE / 4) return globalThis.crypto.getRandomValues(new Uint8Array(length));
  if (poolAt + length > pool.length) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + length);
  poolAt += length;
  return out;
}

export const webPlatform: Platform = {
  now: () => Date.now(),
  randomBytes: drawRandom,
  async sha256(value) {
    const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(value));
    return toHex(new Uint8Array(digest));
  },
};

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A lower-case identifier of `bits` random bits ([a-z2-7], safe in XCON-URIs and SIP conf-ids). */
export function randomId(platform: Platform, bits = 80): string {
  const bytes = platform.randomBytes(Math.ceil(bits / 5));
  let out = '';
  for (const b of bytes) out += BASE32.charAt(b & 31);
  return out;
}

/** Compares two strings in time that depends only on their lengths. */
const ENCODER = new TextEncoder();

export function timingSafeEqual(a: string, b: string): boolean {
  const ea = ENCODER.encode(a);
  const eb = ENCODER.encode(b);
  let diff = ea.length ^ eb.length;
  const n = Math.max(ea.length, eb.length);
  for (let i = 0; i < n; i++) diff |= (ea[i % (ea.length || 1)] ?? 0) ^ (eb[i % (eb.length || 1)] ?? 0);
  return diff === 0;
}
