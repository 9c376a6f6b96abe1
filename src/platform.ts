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

export const webPlatform: Platform = {
  now: () => Date.now(),
  randomBytes(length) {
    const bytes = new Uint8Array(length);
    globalThis.crypto.getRandomValues(bytes);
    return bytes;
  },
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
export function timingSafeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  const n = Math.max(ea.length, eb.length);
  for (let i = 0; i < n; i++) diff |= (ea[i % (ea.length || 1)] ?? 0) ^ (eb[i % (eb.length || 1)] ?? 0);
  return diff === 0;
}
