import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { basicScheme, subjectScheme } from '../../src/auth/basic.ts';
import { createAuthenticator } from '../../src/auth/authenticate.ts';
import { cachedDirectory } from '../../src/auth/cached-directory.ts';
import { ldapDirectory, type LdapDirectoryOptions } from '../../src/auth/ldap-directory.ts';
import { FailureThrottle } from '../../src/auth/throttle.ts';
import { DirectoryUnavailable, HttpError } from '../../src/errors.ts';
import { memoryLogger } from '../../src/log.ts';
import { serviceAccount, startSlapd, type Slapd } from '../services/slapd.ts';
import { basicAuth, fakeClock, request, seededMappings } from './_helpers.ts';

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapd();
});
afterAll(async () => {
  await slapd.dispose();
});
beforeEach(async () => {
  slapd.resume();
  await slapd.start();
});

function setup(options: Partial<LdapDirectoryOptions> = {}) {
  const clock = fakeClock(Date.now());
  const logger = memoryLogger();
  const ldap = ldapDirectory({
    url: slapd.url,
    baseDn: slapd.suffix,
    ...serviceAccount(),
    mappings: seededMappings(),
    timeoutMs: 500,
    logger,
    now: clock.now,
    ...options,
  });
  const auth = createAuthenticator({
    schemes: [basicScheme(ldap, 'example.com'), subjectScheme(ldap)],
    throttle: new FailureThrottle({}, clock.now),
    logger,
    sleep: async () => {},
  });
  return { clock, logger, ldap, auth };
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe.each([true, false])('LDAP failures (reuseConnections: %s)', (reuseConnections) => {
  it('fail closed with DirectoryUnavailable naming the cause when the server is down', async () => {
    const { ldap, logger } = setup({ reuseConnections });
    expect(await ldap.verifyPassword('alice', 'alice-secret')).toBeDefined();
    await slapd.stop();
    const err = await caught(ldap.verifyPassword('alice', 'alice-secret'));
    expect(err).toBeInstanceOf(DirectoryUnavailable);
    expect((err as Error).message).toBe(
      `LDAP directory ${slapd.url} is unavailable: connection refused (connect ECONNREFUSED 127.0.0.1:${slapd.port})`,
    );
    expect(logger.records.filter((r) => r.event === 'ldap.unavailable')).toHaveLength(1);
  });

  it('answer HTTP 503 with Retry-After at an HTTP scheme, and let <subject> see the cause', async () => {
    const { auth } = setup({ reuseConnections });
    await slapd.stop();
    const http = await caught(auth.authenticate(request(basicAuth('alice', 'alice-secret'))));
    expect(http).toBeInstanceOf(HttpError);
    expect((http as HttpError).status).toBe(503);
    expect((http as HttpError).headers).toEqual([['Retry-After', '5']]);
    expect((http as HttpError).message).toMatch(/LDAP directory .* is unavailable/);
    const subject = await caught(
      auth.authenticate(request({}, { subject: { username: 'alice', password: 'x' } })),
    );
    expect(subject).toBeInstanceOf(DirectoryUnavailable);
  });

  it('recover by themselves when the server comes back on the same port', async () => {
    const { ldap, clock, logger } = setup({ reuseConnections });
    expect(await ldap.findByLogin('alice')).toBeDefined();
    await slapd.stop();
    await expect(ldap.findByLogin('alice')).rejects.toBeInstanceOf(DirectoryUnavailable);
    await slapd.start();
    // Within the fail-fast moment it does not even try...
    const connections = ldap.stats().connections;
    await expect(ldap.findByLogin('alice')).rejects.toThrow(/connection refused/);
    expect(ldap.stats().connections).toBe(connections);
    // ...then it reconnects, with no stuck client.
    clock.advance(1_001);
    expect(await ldap.findByLogin('alice')).toMatchObject({ username: 'alice' });
    expect(await ldap.verifyPassword('bob', 'bob-secret')).toMatchObject({ username: 'bob' });
    expect(logger.records.map((r) => r.event)).toEqual(['ldap.unavailable', 'ldap.recovered']);
  });

  it('survive a server restart between two requests without a failure', async () => {
    const { ldap } = setup({ reuseConnections });
    expect(await ldap.findByLogin('alice')).toBeDefined();
    await slapd.stop();
    await slapd.start();
    // The kept connection died with the old server: it is replaced, and the request succeeds.
    expect(await ldap.findByLogin('alice')).toMatchObject({ username: 'alice' });
  });

  it('time out, naming the timeout, when the server hangs; then recover', async () => {
    const { ldap, clock } = setup({ reuseConnections });
    expect(await ldap.findByLogin('alice')).toBeDefined();
    slapd.pause();
    const started = Date.now();
    await expect(ldap.findByLogin('bob')).rejects.toThrow(/is unavailable: no answer within 500 ms/);
    // One retry on a fresh connection at most when the kept one hung.
    expect(Date.now() - started).toBeLessThan(2_000);
    slapd.resume();
    clock.advance(1_001);
    expect(await ldap.findByLogin('bob')).toMatchObject({ username: 'bob' });
  });
});

describe('cached users during an outage', () => {
  it('keep working from the cache while new logins fail closed', async () => {
    const { ldap } = setup();
    const cached = cachedDirectory(ldap);
    expect(await cached.verifyPassword('alice', 'alice-secret')).toBeDefined();
    await slapd.stop();
    expect(await cached.verifyPassword('alice', 'alice-secret')).toBeDefined();
    await expect(cached.verifyPassword('bob', 'bob-secret')).rejects.toBeInstanceOf(DirectoryUnavailable);
    await cached.close?.();
  });
});
