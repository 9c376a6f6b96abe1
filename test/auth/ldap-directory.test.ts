import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createAuthenticator } from '../../src/auth/authenticate.ts';
import { digestSchemes } from '../../src/auth/digest.ts';
import {
  ldapDirectory,
  type LdapDirectory,
  type LdapDirectoryOptions,
} from '../../src/auth/ldap-directory.ts';
import { FailureThrottle } from '../../src/auth/throttle.ts';
import type { DigestDirectory } from '../../src/auth/ha1.ts';
import { DirectoryUnavailable, HttpError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { webPlatform } from '../../src/platform.ts';
import { serviceAccount, startSlapd, type Slapd } from '../services/slapd.ts';
import { request, seededMappings } from './_helpers.ts';

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapd({ tls: true });
});
afterAll(async () => {
  await slapd.dispose();
});

const open: LdapDirectory[] = [];
afterAll(async () => {
  for (const d of open) await d.close?.();
});

function directory(options: Partial<LdapDirectoryOptions> = {}) {
  const d = ldapDirectory({
    url: slapd.url,
    baseDn: slapd.suffix,
    ...serviceAccount(),
    mappings: seededMappings(),
    ha1Attribute: 'ccmpDigestHA1',
    timeoutMs: 3_000,
    ...options,
  });
  open.push(d);
  return d;
}

describe('ldapDirectory against OpenLDAP', () => {
  it('verifies a password by binding as the user, and maps the entry', async () => {
    expect(await directory().verifyPassword('alice', 'alice-secret')).toEqual({
      userId: 'xcon-userid:alice@example.com',
      username: 'alice',
      sipUri: 'sip:alice@example.com',
      displayName: 'Alice',
      systemRoles: ['administrator'],
      accounts: { janus: 'alice', flexisip: 'sip:alice@example.com' },
    });
  });

  it('refuses wrong, empty and unknown credentials', async () => {
    const d = directory();
    expect(await d.verifyPassword('alice', 'wrong')).toBeUndefined();
    expect(await d.verifyPassword('nobody', 'alice-secret')).toBeUndefined();
    const before = d.stats().binds;
    // An empty password would be an unauthenticated bind, which the server accepts: never send it.
    expect(await d.verifyPassword('alice', '')).toBeUndefined();
    expect(d.stats().binds).toBe(before);
  });

  it('accepts a login given as XCON-USERID or SIP URI, in any case', async () => {
    const d = directory();
    expect(await d.verifyPassword('xcon-userid:Alice@EXAMPLE.com', 'alice-secret')).toMatchObject({
      username: 'alice',
    });
    expect(await d.verifyPassword('sip:bob@example.com', 'bob-secret')).toMatchObject({ username: 'bob' });
    expect(await d.verifyPassword('xcon-userid:alice@elsewhere.org', 'alice-secret')).toBeUndefined();
  });

  it('escapes filter metacharacters: injection attempts match nothing', async () => {
    const d = directory();
    for (const login of ['alice)(uid=*', '*', 'al*', 'alice)(|(uid=*', '*)(objectClass=*']) {
      expect(await d.verifyPassword(login, 'alice-secret')).toBeUndefined();
      expect(await d.findByLogin(login)).toBeUndefined();
    }
    expect(await d.findUser('xcon-userid:*@example.com')).toBeUndefined();
    expect(await d.findByUri('sip:al*@example.com')).toBeUndefined();
  });

  it('lets the user whose uid is made of metacharacters log in and be found by XCON-USERID', async () => {
    const d = directory();
    const meta = await d.verifyPassword('meta*(x)\\user', 'meta-secret');
    expect(meta).toMatchObject({
      userId: 'xcon-userid:meta*(x)%5cuser@example.com',
      sipUri: 'sip:meta*(x)%5Cuser@example.com',
      username: 'meta*(x)\\user',
      systemRoles: [],
    });
    expect(await d.findUser('xcon-userid:meta*(x)%5cuser@example.com')).toEqual(meta);
    expect(await d.verifyPassword('meta*(x)\\user', 'alice-secret')).toBeUndefined();
  });

  it('maps group membership to the administrator role, and only that group', async () => {
    const d = directory();
    expect((await d.findByLogin('alice'))?.systemRoles).toEqual(['administrator']);
    expect((await d.findByLogin('bob'))?.systemRoles).toEqual([]);
  });

  it('finds users by XCON-USERID (one stable ID per user) and by SIP URI', async () => {
    const d = directory();
    expect(await d.findUser('XCON-USERID:Carol@Example.COM')).toMatchObject({
      username: 'carol',
      displayName: 'Carol Danvers',
    });
    expect(await d.findUser('xcon-userid:carol@other.example')).toBeUndefined();
    expect(await d.findUser('sip:carol@example.com')).toBeUndefined();
    expect(await d.findByUri('"Carol" <sip:carol@example.com;transport=tls>')).toMatchObject({
      username: 'carol',
    });
    expect(await d.findByUri('tel:+1555')).toBeUndefined();
  });

  it('reads Digest HA1 values from the attribute, which only the service account may read', async () => {
    const d = directory();
    expect(await d.digestHa1?.('alice', 'example.com', 'SHA-256')).toMatchObject({
      ha1: '1c733d942b955c362d40a0aa27c63f0d5543d51e0a655f9b1c6fab041493ee5d',
      principal: { userId: 'xcon-userid:alice@example.com' },
    });
    expect((await d.digestHa1?.('bob', 'example.com', 'MD5'))?.ha1).toBe('ede4211a900d51d7799431a9b031f433');
    expect(await d.digestHa1?.('bob', 'example.com', 'SHA-256')).toBeUndefined();
    expect(await d.digestHa1?.('carol', 'example.com', 'MD5')).toBeUndefined();
    const anonymous = directory({ bindDn: undefined, bindPassword: undefined });
    expect(await anonymous.findByLogin('alice')).toMatchObject({ username: 'alice' });
    expect(await anonymous.digestHa1?.('alice', 'example.com', 'SHA-256')).toBeUndefined();
  });

  it('authenticates Linphone-style Digest end to end: 401 challenge, then the answer', async () => {
    const d = directory() as DigestDirectory;
    const auth = createAuthenticator({
      schemes: digestSchemes({
        directory: d,
        realm: 'example.com',
        randomBytes: (n) => webPlatform.randomBytes(n),
      }),
      throttle: new FailureThrottle({}, Date.now),
      logger: silentLogger,
    });
    const challenge = await auth.authenticate(request()).catch((e: unknown) => e);
    expect(challenge).toBeInstanceOf(HttpError);
    const md5Challenge =
      (challenge as HttpError).headers.find(([, v]) => v.includes('algorithm=MD5'))?.[1] ?? '';
    const nonce = /nonce="([^"]+)"/.exec(md5Challenge)?.[1] ?? '';
    const opaque = /opaque="([^"]+)"/.exec(md5Challenge)?.[1] ?? '';
    const h = (s: string) => createHash('md5').update(s).digest('hex');
    const response = h(
      `${h('alice:example.com:alice-secret')}:${nonce}:00000001:abc:auth:${h('POST:/xml/')}`,
    );
    const header =
      `Digest username="alice", realm="example.com", nonce="${nonce}", uri="/xml/", response="${response}", ` +
      `algorithm=MD5, cnonce="abc", opaque="${opaque}", qop=auth, nc=00000001`;
    expect(await auth.authenticate(request({ authorization: header }))).toMatchObject({
      scheme: 'digest',
      principal: { userId: 'xcon-userid:alice@example.com', systemRoles: ['administrator'] },
    });
  });

  it('reuses one service connection on Node, or opens one per operation when told to', async () => {
    const reused = directory();
    const perOperation = directory({ reuseConnections: false });
    for (let i = 0; i < 5; i++) {
      await reused.findByLogin('bob');
      await perOperation.findByLogin('bob');
    }
    // Each lookup is a user search and a group search; per operation, they share one connection.
    expect(reused.stats()).toMatchObject({ connections: 1, searches: 10, binds: 1 });
    expect(perOperation.stats()).toMatchObject({ connections: 5, searches: 10, binds: 5 });
  });

  it('talks ldaps:// with the given CA, and names the certificate problem without it', async () => {
    const tls = directory({ url: slapd.ldapsUrl!, ca: slapd.certificate! });
    expect(await tls.verifyPassword('bob', 'bob-secret')).toMatchObject({ username: 'bob' });
    const untrusted = directory({ url: slapd.ldapsUrl! });
    await expect(untrusted.findByLogin('bob')).rejects.toThrow(
      /TLS certificate not trusted: self-signed certificate/,
    );
  });

  it('fails closed, naming the cause, when the service account or base DN is wrong', async () => {
    const badBind = directory({ bindPassword: 'wrong' });
    const err = await badBind.verifyPassword('alice', 'alice-secret').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirectoryUnavailable);
    expect((err as Error).message).toMatch(
      /service bind as "cn=ccmp-gateway,ou=services,dc=example,dc=com" was refused/,
    );
    const badBase = directory({ baseDn: 'ou=nowhere,dc=example,dc=com' });
    await expect(badBase.findByLogin('alice')).rejects.toThrow(/LDAP error 32/);
  });

  it('checks its options when built', () => {
    expect(() => directory({ url: 'http://ldap' })).toThrow('url must start with ldap:// or ldaps://');
    expect(() => directory({ userFilter: '(uid=alice)' })).toThrow('userFilter must contain {user}');
    expect(() => directory({ userFilter: '(uid={user}' })).toThrow(/userFilter is not a valid LDAP filter/);
    expect(() => directory({ ca: 'pem' })).toThrow('ca applies to ldaps:// URLs only');
  });
});
