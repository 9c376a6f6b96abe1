/**
 * @module A caching wrapper for any Directory: lookups for minutes, verified credentials for a short while.
 *
 * A user who keeps making requests must cost the directory almost nothing, so lookups (with their
 * group memberships) and successful verifications are remembered. Verifications are keyed by a
 * salted hash of login and password, with a salt drawn per instance: the password itself is never
 * kept, and a changed password takes effect once the short credential TTL has passed. Failures are
 * never cached. The caches run no timers (Workers forbid them at global scope); expired entries are
 * pruned as the caches are used.
 */
import * as nodeCrypto from 'node:crypto';
import NodeCache from 'node-cache';
import { supportsDigest, type DigestAlgorithm, type DigestDirectory, type Ha1Result } from './ha1.ts';
import type { Directory, Principal } from './types.ts';

export interface CacheOptions {
  /** How long found users (and their groups) are remembered; default 300 s. 0 disables it. */
  lookupTtlMs?: number;
  /** How long unknown users are remembered; default 30 s. 0 disables it. */
  negativeTtlMs?: number;
  /** How long a successful password or Digest verification is remembered; default 60 s. 0 disables it. */
  credentialTtlMs?: number;
  /** Entries per cache at most; default 10 000. */
  maxKeys?: number;
  now?: () => number;
  randomBytes?: (length: number) => Uint8Array;
}

export interface CacheCounters {
  hits: number;
  misses: number;
  keys: number;
}

export interface CachedDirectory extends Directory {
  cacheStats(): { lookups: CacheCounters; credentials: CacheCounters };
  /** Drops expired entries now (also done as the caches are used). */
  prune(): void;
  /** Forgets everything, e.g. after an operator changed the directory. */
  flush(): void;
  digestHa1?: DigestDirectory['digestHa1'];
}

interface Slot<T> {
  value: T;
  expiresAt: number;
}

const PRUNE_EVERY = 1_000;

export function cachedDirectory(inner: Directory, options: CacheOptions = {}): CachedDirectory {
  const lookupTtl = options.lookupTtlMs ?? 300_000;
  const negativeTtl = options.negativeTtlMs ?? 30_000;
  const credentialTtl = options.credentialTtlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const salt = (options.randomBytes ?? nodeCrypto.randomBytes)(32);
  const saltText = btoa(String.fromCharCode(...salt));
  const make = () => new NodeCache({ checkperiod: 0, useClones: false, maxKeys: options.maxKeys ?? 10_000 });
  const lookups = make();
  const credentials = make();
  const counters = { lookups: { hits: 0, misses: 0 }, credentials: { hits: 0, misses: 0 } };
  const inflight = new Map<string, Promise<unknown>>();
  let writes = 0;

  function read<T>(cache: NodeCache, key: string): Slot<T> | undefined {
    const slot = cache.get<Slot<T>>(key);
    if (slot && slot.expiresAt <= now()) {
      cache.del(key);
      return undefined;
    }
    return slot;
  }

  function write(cache: NodeCache, key: string, value: unknown, ttlMs: number): void {
    if (ttlMs <= 0) return;
    if (++writes % PRUNE_EVERY === 0) prune();
    // node-cache's own TTL (real time, whole seconds) is only a backstop; ours decides.
    const slot: Slot<unknown> = { value, expiresAt: now() + ttlMs };
    const ttlS = Math.ceil(ttlMs / 1000) + 1;
    try {
      cache.set(key, slot, ttlS);
    } catch {
      // Full: make room from expired entries, and otherwise simply do not cache this one.
      prune();
      try {
        cache.set(key, slot, ttlS);
      } catch {
        /* still full */
      }
    }
  }

  function prune(): void {
    const t = now();
    for (const cache of [lookups, credentials]) {
      for (const key of cache.keys()) {
        const slot = cache.get<Slot<unknown>>(key);
        if (slot && slot.expiresAt <= t) cache.del(key);
      }
    }
  }

  /** Runs one directory call per key at a time: concurrent misses share it. */
  function once<T>(key: string, load: () => Promise<T>): Promise<T> {
    const pending = inflight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const started = load().finally(() => inflight.delete(key));
    inflight.set(key, started);
    return started;
  }

  function remember(principal: Principal, ...keys: string[]): void {
    for (const key of [...keys, userKey(principal.userId), loginKey(principal.username)]) {
      write(lookups, key, principal, lookupTtl);
    }
  }

  async function lookup(
    key: string,
    load: () => Promise<Principal | undefined>,
  ): Promise<Principal | undefined> {
    const slot = read<Principal | null>(lookups, key);
    if (slot) {
      counters.lookups.hits++;
      return slot.value ? copy(slot.value) : undefined;
    }
    counters.lookups.misses++;
    const found = await once(key, load);
    if (found) remember(found, key);
    else write(lookups, key, null, negativeTtl);
    return found ? copy(found) : undefined;
  }

  // Keys are looked up on every request: the one-shot hash (Node ≥ 20.12) costs a sixth of an Hmac
  // object. The salt is secret and random per instance, so a key reveals nothing of the password.
  const oneShot = (
    nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }
  ).hash;
  const secretKey = (...parts: string[]) =>
    oneShot
      ? oneShot('sha256', `${saltText}\u0000${parts.join('\u0000')}`, 'base64url')
      : nodeCrypto.createHmac('sha256', salt).update(parts.join('\u0000'), 'utf8').digest('base64url');

  const cached: CachedDirectory = {
    name: `${inner.name} (cached)`,

    async verifyPassword(login, password) {
      const key = `p:${secretKey('password', login, password)}`;
      const slot = read<Principal>(credentials, key);
      if (slot) {
        counters.credentials.hits++;
        return copy(slot.value);
      }
      counters.credentials.misses++;
      const principal = await once(key, () => inner.verifyPassword(login, password));
      if (!principal) return undefined;
      write(credentials, key, principal, credentialTtl);
      remember(principal, loginKey(login));
      return copy(principal);
    },

    findUser: (userId) => lookup(userKey(userId), () => inner.findUser(userId)),
    findByLogin: (login) => lookup(loginKey(login), () => inner.findByLogin(login)),
    findByUri: (uri) => lookup(`r:${uri.trim()}`, () => inner.findByUri(uri)),

    cacheStats() {
      return {
        lookups: { ...counters.lookups, keys: lookups.keys().length },
        credentials: { ...counters.credentials, keys: credentials.keys().length },
      };
    },
    prune,
    flush() {
      lookups.flushAll();
      credentials.flushAll();
    },
    async close() {
      lookups.close();
      credentials.close();
      await inner.close?.();
    },
  };

  if (supportsDigest(inner)) {
    cached.digestHa1 = async (login: string, realm: string, algorithm: DigestAlgorithm) => {
      const key = `d:${secretKey('digest', login, realm, algorithm)}`;
      const slot = read<Ha1Result>(credentials, key);
      if (slot) {
        counters.credentials.hits++;
        return { ha1: slot.value.ha1, principal: copy(slot.value.principal) };
      }
      counters.credentials.misses++;
      const result = await once(key, () => inner.digestHa1(login, realm, algorithm));
      if (!result) return undefined;
      write(credentials, key, result, credentialTtl);
      remember(result.principal, loginKey(login));
      return { ha1: result.ha1, principal: copy(result.principal) };
    };
  }
  return cached;
}

const userKey = (userId: string) => `u:${userId.trim().toLowerCase()}`;
const loginKey = (login: string) => `l:${login}`;

/** Callers get their own copy, so that nothing they do can alter the cached principal. */
function copy(p: Principal): Principal {
  return {
    ...p,
    systemRoles: [...p.systemRoles],
    ...(p.accounts ? { accounts: { ...p.accounts } } : {}),
  };
}
