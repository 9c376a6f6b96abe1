import { describe, expect, it } from 'vitest';
import { cachedDirectory } from '../../src/auth/cached-directory.ts';
import type { DigestDirectory } from '../../src/auth/ha1.ts';
import type { Principal } from '../../src/auth/types.ts';
import { DirectoryUnavailable } from '../../src/errors.ts';
import { fakeClock } from './_helpers.ts';

/** An in-memory directory that counts the calls that reach it. */
function countingDirectory() {
  const passwords = new Map([['alice', 'old-password']]);
  const calls = { verify: 0, find: 0, ha1: 0 };
  let down = false;
  const alice = (): Principal => ({
    userId: 'xcon-userid:alice@example.com',
    username: 'alice',
    sipUri: 'sip:alice@example.com',
    systemRoles: ['administrator'],
    accounts: { janus: 'alice' },
  });
  const guard = async () => {
    await Promise.resolve();
    if (down) throw new DirectoryUnavailable('test directory is down');
  };
  const directory: DigestDirectory = {
    name: 'counting',
    async verifyPassword(login, password) {
      calls.verify++;
      await guard();
      return passwords.get(login) === password ? alice() : undefined;
    },
    async findUser(userId) {
      calls.find++;
      await guard();
      return userId === 'xcon-userid:alice@example.com' ? alice() : undefined;
    },
    async findByLogin(login) {
      calls.find++;
      await guard();
      return login === 'alice' ? alice() : undefined;
    },
    async findByUri(uri) {
      calls.find++;
      await guard();
      return uri === 'sip:alice@example.com' ? alice() : undefined;
    },
    async digestHa1(login) {
      calls.ha1++;
      await guard();
      return login === 'alice' ? { ha1: 'ab'.repeat(16), principal: alice() } : undefined;
    },
  };
  return {
    directory,
    calls,
    passwords,
    setDown: (v: boolean) => {
      down = v;
    },
  };
}

function setup() {
  const clock = fakeClock();
  const inner = countingDirectory();
  const cached = cachedDirectory(inner.directory, {
    lookupTtlMs: 300_000,
    negativeTtlMs: 30_000,
    credentialTtlMs: 60_000,
    now: clock.now,
  });
  return { clock, inner, cached };
}

describe('cachedDirectory', () => {
  it('answers repeated verifications from the cache until the credential TTL', async () => {
    const { clock, inner, cached } = setup();
    for (let i = 0; i < 100; i++) expect(await cached.verifyPassword('alice', 'old-password')).toBeDefined();
    expect(inner.calls.verify).toBe(1);
    clock.advance(60_001);
    await cached.verifyPassword('alice', 'old-password');
    expect(inner.calls.verify).toBe(2);
    expect(cached.cacheStats().credentials).toMatchObject({ hits: 99, misses: 2 });
  });

  it('never caches a failure, and a changed password takes effect once the TTL has passed', async () => {
    const { clock, inner, cached } = setup();
    expect(await cached.verifyPassword('alice', 'old-password')).toBeDefined();
    inner.passwords.set('alice', 'new-password');
    expect(await cached.verifyPassword('alice', 'new-password')).toBeDefined();
    expect(await cached.verifyPassword('alice', 'old-password')).toBeDefined();
    clock.advance(60_001);
    expect(await cached.verifyPassword('alice', 'old-password')).toBeUndefined();
    expect(await cached.verifyPassword('alice', 'old-password')).toBeUndefined();
    expect(inner.calls.verify).toBe(4);
  });

  it('shares a verification between the lookups: findUser after a login costs nothing', async () => {
    const { inner, cached } = setup();
    await cached.verifyPassword('alice', 'old-password');
    expect(await cached.findUser('XCON-USERID:Alice@Example.com')).toMatchObject({ username: 'alice' });
    expect(await cached.findByLogin('alice')).toMatchObject({ username: 'alice' });
    expect(inner.calls.find).toBe(0);
  });

  it('remembers lookups for the lookup TTL and unknown users for the shorter negative TTL', async () => {
    const { clock, inner, cached } = setup();
    await cached.findByUri('sip:alice@example.com');
    await cached.findByUri('sip:alice@example.com');
    await cached.findUser('xcon-userid:nobody@example.com');
    await cached.findUser('xcon-userid:nobody@example.com');
    expect(inner.calls.find).toBe(2);
    clock.advance(30_001);
    await cached.findUser('xcon-userid:nobody@example.com');
    await cached.findByUri('sip:alice@example.com');
    expect(inner.calls.find).toBe(3);
    clock.advance(300_000);
    await cached.findByUri('sip:alice@example.com');
    expect(inner.calls.find).toBe(4);
  });

  it('makes concurrent misses share one directory call', async () => {
    const { inner, cached } = setup();
    await Promise.all(Array.from({ length: 20 }, () => cached.findByLogin('alice')));
    await Promise.all(Array.from({ length: 20 }, () => cached.verifyPassword('alice', 'old-password')));
    expect(inner.calls).toMatchObject({ find: 1, verify: 1 });
  });

  it('caches Digest HA1 lookups with the credentials', async () => {
    const { clock, inner, cached } = setup();
    for (let i = 0; i < 10; i++)
      expect(await cached.digestHa1?.('alice', 'example.com', 'MD5')).toMatchObject({ ha1: 'ab'.repeat(16) });
    expect(inner.calls.ha1).toBe(1);
    clock.advance(60_001);
    await cached.digestHa1?.('alice', 'example.com', 'MD5');
    expect(inner.calls.ha1).toBe(2);
  });

  it('offers digestHa1 only when the inner directory has it', () => {
    const plain = { ...countingDirectory().directory, digestHa1: undefined };
    expect(cachedDirectory(plain).digestHa1).toBeUndefined();
  });

  it('hands out copies, so callers cannot alter what is cached', async () => {
    const { cached } = setup();
    const first = await cached.findByLogin('alice');
    first?.systemRoles.push('intruder');
    if (first?.accounts) first.accounts.janus = 'changed';
    expect(await cached.findByLogin('alice')).toMatchObject({
      systemRoles: ['administrator'],
      accounts: { janus: 'alice' },
    });
  });

  it('lets DirectoryUnavailable through and caches nothing for it, while cached users keep working', async () => {
    const { inner, cached } = setup();
    await cached.verifyPassword('alice', 'old-password');
    inner.setDown(true);
    expect(await cached.verifyPassword('alice', 'old-password')).toBeDefined();
    await expect(cached.verifyPassword('alice', 'other')).rejects.toBeInstanceOf(DirectoryUnavailable);
    await expect(cached.findUser('xcon-userid:bob@example.com')).rejects.toBeInstanceOf(DirectoryUnavailable);
    inner.setDown(false);
    expect(await cached.findUser('xcon-userid:bob@example.com')).toBeUndefined();
  });

  it('prunes expired entries without timers and stays within maxKeys', async () => {
    const clock = fakeClock();
    const cached = cachedDirectory(countingDirectory().directory, {
      now: clock.now,
      maxKeys: 50,
      negativeTtlMs: 1_000,
    });
    for (let i = 0; i < 50; i++) await cached.findUser(`xcon-userid:u${i}@example.com`);
    expect(cached.cacheStats().lookups.keys).toBe(50);
    // Full: a new entry is not cached until expired ones can be dropped.
    await cached.findUser('xcon-userid:late@example.com');
    expect(cached.cacheStats().lookups.keys).toBe(50);
    clock.advance(1_001);
    cached.prune();
    expect(cached.cacheStats().lookups.keys).toBe(0);
    await cached.close?.();
  });
});
