import { createHash } from 'node:crypto';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/authenticate.ts';
import { basicScheme } from '../../src/auth/basic.ts';
import { cachedDirectory } from '../../src/auth/cached-directory.ts';
import { digestSchemes } from '../../src/auth/digest.ts';
import { ldapDirectory } from '../../src/auth/ldap-directory.ts';
import { FailureThrottle } from '../../src/auth/throttle.ts';
import { silentLogger } from '../../src/log.ts';
import { webPlatform } from '../../src/platform.ts';
import { serviceAccount, startSlapd, type Slapd } from '../services/slapd.ts';
import { basicAuth, fakeClock, request, seededMappings } from './_helpers.ts';

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapd();
});
afterAll(async () => {
  await slapd.dispose();
});

function setup() {
  const clock = fakeClock(Date.now());
  const ldap = ldapDirectory({
    url: slapd.url,
    baseDn: slapd.suffix,
    ...serviceAccount(),
    mappings: seededMappings(),
    ha1Attribute: 'ccmpDigestHA1',
    now: clock.now,
  });
  const directory = cachedDirectory(ldap, { lookupTtlMs: 300_000, credentialTtlMs: 60_000, now: clock.now });
  return { clock, ldap, directory };
}

describe('caching in front of LDAP', () => {
  it('costs at most 0.01 LDAP operations per request for a user who keeps making requests (Basic)', async () => {
    const { ldap, directory, clock } = setup();
    const auth = createAuthenticator({
      schemes: [basicScheme(directory, 'example.com')],
      throttle: new FailureThrottle({}, clock.now),
      logger: silentLogger,
    });
    const before = ldap.stats().operations;
    for (let i = 0; i < 1_000; i++) {
      const { principal } = await auth.authenticate(request(basicAuth('alice', 'alice-secret')));
      // What the core does next: check the confUserID against the directory.
      expect(await directory.findUser('xcon-userid:alice@example.com')).toBeDefined();
      expect(principal.systemRoles).toEqual(['administrator']);
      clock.advance(50);
    }
    // 1000 requests over 50 s: one search, one bind and one group search.
    const perRequest = (ldap.stats().operations - before) / 1_000;
    expect(perRequest).toBeLessThanOrEqual(0.01);
    expect(directory.cacheStats().credentials.hits).toBe(999);
  });

  it('costs at most 0.01 LDAP operations per request with Digest too', async () => {
    const { ldap, directory, clock } = setup();
    const schemes = digestSchemes({
      directory: directory as Parameters<typeof digestSchemes>[0]['directory'],
      realm: 'example.com',
      algorithms: ['MD5'],
      now: clock.now,
      randomBytes: (n) => webPlatform.randomBytes(n),
    });
    const challenge = schemes[0]?.challenge?.() as string;
    const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
    const h = (s: string) => createHash('md5').update(s).digest('hex');
    const ha1 = h('bob:example.com:bob-secret');
    const before = ldap.stats().operations;
    for (let i = 1; i <= 1_000; i++) {
      const nc = i.toString(16).padStart(8, '0');
      const response = h(`${ha1}:${nonce}:${nc}:xyz:auth:${h('POST:/xml/')}`);
      const header = `Digest username="bob", realm="example.com", nonce="${nonce}", uri="/xml/", algorithm=MD5, response="${response}", qop=auth, nc=${nc}, cnonce="xyz"`;
      expect((await schemes[0]!.authenticate(request({ authorization: header }))).status).toBe(
        'authenticated',
      );
      clock.advance(50);
    }
    expect((ldap.stats().operations - before) / 1_000).toBeLessThanOrEqual(0.01);
  });

  it('lets a changed password take effect once the credential TTL has passed', async () => {
    const { directory, clock } = setup();
    expect(await directory.verifyPassword('erin', 'erin-secret')).toMatchObject({ username: 'erin' });

    const admin = new Client({ url: slapd.url });
    await admin.bind(slapd.adminDn, slapd.adminPassword);
    await admin.modify(
      `uid=erin,ou=people,${slapd.suffix}`,
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'userPassword', values: ['erin-changed'] }),
      }),
    );
    await admin.unbind();

    // The new password works at once; the old one only until the cached verification expires.
    expect(await directory.verifyPassword('erin', 'erin-changed')).toMatchObject({ username: 'erin' });
    clock.advance(59_000);
    expect(await directory.verifyPassword('erin', 'erin-secret')).toMatchObject({ username: 'erin' });
    clock.advance(1_001);
    expect(await directory.verifyPassword('erin', 'erin-secret')).toBeUndefined();
    expect(await directory.verifyPassword('erin', 'erin-changed')).toMatchObject({ username: 'erin' });
  });
});
