/**
 * @module HTTP Digest authentication (RFC 7616): MD5 and SHA-256, `qop=auth`, HA1 from the directory.
 *
 * Linphone answers a 401 with its SIP account and often knows only HA1 for the SIP realm, so the
 * realm defaults to the SIP domain. Nonces carry their issue time and an HMAC, so the server keeps
 * no state for them beyond replay tracking: each nonce may be used with increasing, never repeated
 * nonce counts until it expires. A right answer with an expired, unknown or replayed nonce gets a
 * fresh challenge with `stale=true`, which clients follow without asking the user again.
 *
 * One AuthScheme is made per algorithm, because the pipeline sends one challenge per scheme and a
 * client picks the algorithm it has an HA1 for; they share their nonces and replay state.
 */
import { createHmac, timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';
import { HttpError } from '../errors.ts';
import { timingSafeEqual } from '../platform.ts';
import { digestHash, type DigestAlgorithm, type DigestDirectory } from './ha1.ts';
import { parseAuthParams, quote } from './auth-params.ts';
import type { AuthOutcome, AuthRequest, AuthScheme } from './types.ts';

export interface DigestOptions {
  directory: DigestDirectory;
  /** The protection space; use the SIP realm so that a Linphone client's HA1 fits. */
  realm: string;
  /** Offered in this order; default SHA-256 then MD5. */
  algorithms?: readonly DigestAlgorithm[];
  /** How long a nonce may be used; default 300 s. */
  nonceTtlMs?: number;
  /** HMAC key for nonces; share it between instances behind one name. Default: random per process. */
  secret?: Uint8Array;
  /** Nonces tracked for replay at most; the oldest are forgotten first (they then count as stale). */
  maxTrackedNonces?: number;
  now?: () => number;
  randomBytes: (length: number) => Uint8Array;
}

/** The request-digest of RFC 7616 §3.4.1 for qop=auth, from HA1. */
export function digestResponse(p: {
  algorithm: DigestAlgorithm;
  ha1: string;
  nonce: string;
  nc: string;
  cnonce: string;
  qop: string;
  method: string;
  uri: string;
}): string {
  const ha2 = digestHash(p.algorithm, `${p.method}:${p.uri}`);
  return digestHash(p.algorithm, `${p.ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
}

interface Tracked {
  expiresAt: number;
  highest: number;
  seen: Set<number>;
}

/** How far below the highest count a late request may still arrive (concurrent requests overtake each other). */
const NC_WINDOW = 64;
const NONCE_RANDOM = 12;
const NONCE_MAC = 16;

export function digestSchemes(options: DigestOptions): AuthScheme[] {
  const algorithms = options.algorithms ?? ['SHA-256', 'MD5'];
  if (algorithms.length === 0) throw new Error('digest needs at least one algorithm');
  const { realm, directory } = options;
  const nonceTtl = options.nonceTtlMs ?? 300_000;
  const now = options.now ?? Date.now;
  const secret = options.secret ?? options.randomBytes(32);
  const maxTracked = options.maxTrackedNonces ?? 100_000;
  const tracked = new Map<string, Tracked>();
  const opaque = mac('opaque', realm).subarray(0, NONCE_MAC).toString('base64url');

  function mac(...parts: (string | Uint8Array)[]): Buffer {
    const h = createHmac('sha256', secret);
    for (const p of parts) h.update(p).update('\u0000');
    return h.digest();
  }

  function newNonce(): string {
    const head = Buffer.alloc(8 + NONCE_RANDOM);
    head.writeBigUInt64BE(BigInt(now()));
    head.set(options.randomBytes(NONCE_RANDOM), 8);
    return Buffer.concat([head, mac('nonce', realm, head).subarray(0, NONCE_MAC)]).toString('base64url');
  }

  /** Issue time of a nonce this server made, or undefined for anything else. */
  function nonceTime(nonce: string): number | undefined {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 8 + NONCE_RANDOM + NONCE_MAC || raw.toString('base64url') !== nonce) return undefined;
    const head = raw.subarray(0, 8 + NONCE_RANDOM);
    if (
      !nodeTimingSafeEqual(raw.subarray(8 + NONCE_RANDOM), mac('nonce', realm, head).subarray(0, NONCE_MAC))
    ) {
      return undefined;
    }
    return Number(head.readBigUInt64BE());
  }

  function challenge(algorithm: DigestAlgorithm, stale = false): string {
    const fields = [
      `realm=${quote(realm)}`,
      `qop="auth"`,
      `algorithm=${algorithm}`,
      `nonce="${newNonce()}"`,
      `opaque="${opaque}"`,
    ];
    if (stale) fields.push('stale=true');
    return `Digest ${fields.join(', ')}`;
  }

  /** Records a use of the nonce; false when it is expired, unknown or this count was used already. */
  function fresh(nonce: string, nc: number): boolean {
    const t = now();
    const issued = nonceTime(nonce);
    if (issued === undefined || issued > t + 1_000 || t - issued > nonceTtl) return false;
    prune(t);
    let entry = tracked.get(nonce);
    if (!entry) {
      if (tracked.size >= maxTracked) {
        const oldest = tracked.keys().next().value;
        if (oldest !== undefined) tracked.delete(oldest);
      }
      entry = { expiresAt: issued + nonceTtl, highest: 0, seen: new Set() };
      tracked.set(nonce, entry);
    }
    if (entry.seen.has(nc) || nc <= entry.highest - NC_WINDOW) return false;
    entry.seen.add(nc);
    if (nc > entry.highest) {
      entry.highest = nc;
      for (const old of entry.seen) if (old <= nc - NC_WINDOW) entry.seen.delete(old);
    }
    return true;
  }

  function prune(t: number): void {
    // Insertion order is close to expiry order: stop at the first live entry.
    for (const [nonce, entry] of tracked) {
      if (entry.expiresAt > t) break;
      tracked.delete(nonce);
    }
  }

  const reject = (reason: string, user?: string): AuthOutcome => ({
    status: 'rejected',
    scheme: 'digest',
    reason,
    ...(user !== undefined ? { user } : {}),
  });

  async function verify(
    request: AuthRequest,
    params: Map<string, string>,
    algorithm: DigestAlgorithm,
  ): Promise<AuthOutcome> {
    const username = params.get('username');
    if (username === undefined || username === '') return reject('Digest credentials without a username');
    for (const name of ['realm', 'nonce', 'uri', 'response', 'qop', 'nc', 'cnonce']) {
      if (!params.get(name)) return reject(`Digest credentials without ${name}`, username);
    }
    const p = (name: string) => params.get(name) ?? '';
    if (p('realm') !== realm) return reject(`Digest realm must be "${realm}"`, username);
    if (p('qop') !== 'auth') return reject('Digest qop must be auth', username);
    if (params.get('userhash') === 'true') return reject('Digest userhash is not supported', username);
    if (!/^[0-9a-fA-F]{8}$/.test(p('nc')) || /^0+$/.test(p('nc'))) {
      return reject('Digest nc must be 8 hex digits, from 00000001', username);
    }
    if (!sameTarget(p('uri'), request.url)) return reject('Digest uri does not match the request', username);

    const found = await directory.digestHa1(username, realm, algorithm);
    // Unknown users cost the same work, so timing does not tell which names exist.
    const ha1 = found?.ha1 ?? digestHash(algorithm, 'no such user');
    const expected = digestResponse({
      algorithm,
      ha1,
      nonce: p('nonce'),
      nc: p('nc'),
      cnonce: p('cnonce'),
      qop: 'auth',
      method: request.method,
      uri: p('uri'),
    });
    const right = timingSafeEqual(p('response').toLowerCase(), expected);
    if (!found || !right) return reject('wrong username or password', username);

    const opaqueOk = params.get('opaque') === undefined || timingSafeEqual(p('opaque'), opaque);
    if (!opaqueOk || !fresh(p('nonce'), parseInt(p('nc'), 16))) {
      const headers: [string, string][] = algorithms.map((a) => ['WWW-Authenticate', challenge(a, true)]);
      throw new HttpError(401, 'the Digest nonce is stale: answer the new challenge', headers);
    }
    return { status: 'authenticated', principal: found.principal, scheme: 'digest' };
  }

  return algorithms.map((algorithm, index): AuthScheme => ({
    name: 'digest',
    challenge: () => challenge(algorithm),
    async authenticate(request) {
      const header = request.header('authorization');
      if (!header || !/^digest\s/i.test(header)) return { status: 'absent' };
      const params = parseAuthParams(header.slice(7));
      if (!params) return index === 0 ? reject('malformed Digest credentials') : { status: 'absent' };
      const asked = (params.get('algorithm') ?? 'MD5').toUpperCase();
      if (asked === algorithm) return verify(request, params, algorithm);
      // The first scheme answers for algorithms none of them offers; the others stay silent.
      if (index === 0 && !algorithms.some((a) => a === asked)) {
        return reject(`Digest algorithm ${asked} is not offered`, params.get('username'));
      }
      return { status: 'absent' };
    },
  }));
}

/** The Digest `uri` names the request target: compare path and query, whatever form either is in. */
function sameTarget(uri: string, target: string): boolean {
  const norm = (v: string) => {
    try {
      const u = new URL(v, 'http://target.invalid');
      return u.pathname + u.search;
    } catch {
      return undefined;
    }
  };
  const a = norm(uri);
  return a !== undefined && a === norm(target);
}
