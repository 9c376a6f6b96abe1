/**
 * @module Digest HA1 values: where they come from (a directory attribute or an HA1 file) and their format.
 *
 * HA1 = H(username:realm:password) is what a SIP server stores instead of the password, and what a
 * Linphone client often stores too. It is password-equivalent for its realm, so it is held in memory
 * only as long as the password would be (the HA1 file, or the short credential cache).
 */
import { createHash } from 'node:crypto';
import type { Directory, Principal } from './types.ts';

export const DIGEST_ALGORITHMS = ['SHA-256', 'MD5'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

export interface Ha1Result {
  /** Lower-case hex. */
  ha1: string;
  principal: Principal;
}

/** A directory that can also give the HA1 of a login, for Digest authentication. */
export interface DigestDirectory extends Directory {
  /** The HA1 for this login, realm and algorithm, with the user; undefined when the user is unknown or has none.
   * Throws DirectoryUnavailable when the directory cannot answer. */
  digestHa1(login: string, realm: string, algorithm: DigestAlgorithm): Promise<Ha1Result | undefined>;
}

export function supportsDigest(directory: Directory): directory is DigestDirectory {
  return typeof (directory as Partial<DigestDirectory>).digestHa1 === 'function';
}

export function digestHash(algorithm: DigestAlgorithm, value: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(value, 'utf8')
    .digest('hex');
}

/** HA1 = H(username:realm:password) (RFC 7616 §3.4.2). */
export function computeHa1(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { MD5: 32, 'SHA-256': 64 };

export interface Ha1Value {
  algorithm: DigestAlgorithm;
  /** Set when the value names its realm. */
  realm?: string;
  ha1: string;
}

/**
 * Parses one stored HA1: `hex`, `{MD5}hex`, `{SHA-256}hex`, each optionally with a realm before the hex
 * (`{MD5}sip.example.org:hex`). Without a prefix, the length of the hex tells the algorithm.
 */
export function parseHa1Value(value: string): Ha1Value | undefined {
  const m = /^(?:\{(MD5|SHA-256)\})?(?:(.*):)?([0-9A-Fa-f]+)$/i.exec(value.trim());
  if (!m?.[3]) return undefined;
  const hex = m[3].toLowerCase();
  const named = m[1]?.toUpperCase() as DigestAlgorithm | undefined;
  const algorithm = named ?? (hex.length === 32 ? 'MD5' : hex.length === 64 ? 'SHA-256' : undefined);
  if (algorithm === undefined || hex.length !== HEX_LENGTH[algorithm]) return undefined;
  return { algorithm, ha1: hex, ...(m[2] !== undefined ? { realm: m[2] } : {}) };
}

/** The HA1 among stored values that fits the realm and algorithm. */
export function pickHa1(
  values: readonly string[],
  realm: string,
  algorithm: DigestAlgorithm,
): string | undefined {
  for (const v of values) {
    const parsed = parseHa1Value(v);
    if (parsed?.algorithm === algorithm && (parsed.realm === undefined || parsed.realm === realm)) {
      return parsed.ha1;
    }
  }
  return undefined;
}

/** HA1 values by `user`, `realm` and algorithm. */
export type Ha1Table = ReadonlyMap<string, string>;

const tableKey = (user: string, realm: string, algorithm: DigestAlgorithm) =>
  `${user}\u0000${realm}\u0000${algorithm}`;

/**
 * Parses an HA1 file: one `user:realm:ha1` per line (the htdigest format; a 64-digit ha1 is SHA-256),
 * `#` comments and blank lines ignored. Throws an Error naming the file and line of a bad entry.
 */
export function parseHa1File(text: string, file: string): Ha1Table {
  const table = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const last = line.lastIndexOf(':');
    const middle = line.lastIndexOf(':', last - 1);
    const user = line.slice(0, middle);
    const realm = line.slice(middle + 1, last);
    const value = middle > 0 ? parseHa1Value(line.slice(last + 1)) : undefined;
    if (!value || user === '') {
      throw new Error(
        `${file}:${i + 1}: expected user:realm:ha1 with a 32 (MD5) or 64 (SHA-256) digit hex ha1`,
      );
    }
    table.set(tableKey(user, realm, value.algorithm), value.ha1);
  });
  return table;
}

/** Adds Digest support to a directory from an HA1 table; the directory still provides the principal. */
export function withHa1Table(directory: Directory, table: Ha1Table): DigestDirectory {
  return {
    name: directory.name,
    verifyPassword: (login, password) => directory.verifyPassword(login, password),
    findUser: (userId) => directory.findUser(userId),
    findByLogin: (login) => directory.findByLogin(login),
    findByUri: (uri) => directory.findByUri(uri),
    close: async () => directory.close?.(),
    async digestHa1(login, realm, algorithm) {
      const ha1 = table.get(tableKey(login, realm, algorithm));
      if (ha1 === undefined) return undefined;
      const principal = await directory.findByLogin(login);
      return principal ? { ha1, principal } : undefined;
    },
  };
}
