import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityFromEnv, type IdentityDeps } from '../../src/auth/from-env.ts';
import { memoryLogger } from '../../src/log.ts';
import { webPlatform } from '../../src/platform.ts';
import { serviceAccount, startSlapd, type Slapd } from '../services/slapd.ts';
import { basicAuth, MAPPINGS_FILE, request } from './_helpers.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const files: Record<string, string> = {
  '/etc/ccmp/mappings.json': readFileSync(MAPPINGS_FILE, 'utf8'),
  '/etc/ccmp/bad-mappings.json': JSON.stringify({
    directory: { domains: ['example.com'] },
    identity: { sipUri: 42 },
  }),
  '/etc/ccmp/jwt.pem': generateKeyPairSync('rsa', { modulusLength: 2048 })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString(),
  '/etc/ccmp/ha1.txt': `alice:sip.example.org:${createHash('md5').update('alice:sip.example.org:alice').digest('hex')}\n`,
};

function deps(
  extra: Partial<Omit<IdentityDeps, 'logger'>> = {},
): IdentityDeps & { logger: ReturnType<typeof memoryLogger> } {
  return {
    domain: 'example.com',
    platform: webPlatform,
    logger: memoryLogger(),
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error('ENOENT: no such file');
      return text;
    },
    ...extra,
  };
}

const names = (env: Record<string, string>, d = deps()) => identityFromEnv(env, d).schemes.map((s) => s.name);

describe('identityFromEnv: demo', () => {
  it('defaults to the demo directory with basic and subject', () => {
    const identity = identityFromEnv({}, deps());
    expect(identity.demo).toBe(true);
    expect(identity.directory.name).toBe('demo');
    expect(identity.schemes.map((s) => s.name)).toEqual(['basic', 'subject']);
    expect(identity.throttle).toMatchObject({
      freeFailures: 3,
      lockoutFailures: 10,
      windowMs: 900_000,
      lockoutMs: 900_000,
    });
    expect(identity.describe()).toBe(
      'directory=demo(example.com) schemes=basic,subject throttle=3 free, lockout after 10 in 900s for 900s',
    );
  });

  it('adds bearer when JWT settings are given, and orders schemes strongest first', () => {
    expect(names({ JWT_SECRET: SECRET, JWT_ISSUER: 'https://idp', JWT_AUDIENCE: 'ccmp' })).toEqual([
      'bearer',
      'basic',
      'subject',
    ]);
    expect(names({ CCMP_AUTH_SCHEMES: 'subject, digest' })).toEqual(['digest', 'digest', 'subject']);
  });

  it('gives the demo users Digest with the realm from DIGEST_REALM, or an HA1 file', () => {
    const identity = identityFromEnv(
      { CCMP_AUTH_SCHEMES: 'digest', DIGEST_HA1_FILE: '/etc/ccmp/ha1.txt', DIGEST_REALM: 'sip.example.org' },
      deps(),
    );
    expect(identity.schemes[0]?.challenge?.()).toContain('realm="sip.example.org"');
  });

  it('accepts bearer tokens with the RS256 public key read through readFile', async () => {
    const identity = identityFromEnv(
      { JWT_PUBLIC_KEY_FILE: '/etc/ccmp/jwt.pem', JWT_ISSUER: 'https://idp', JWT_AUDIENCE: 'ccmp,other' },
      deps(),
    );
    expect(identity.describe()).toContain('bearer(RS256, iss=https://idp)');
    const bearer = identity.schemes[0]!;
    const token = jwt.sign({ sub: 'x@example.com', iss: 'https://idp', aud: 'ccmp' }, SECRET, {
      expiresIn: 60,
    });
    expect(await bearer.authenticate(request({ authorization: `Bearer ${token}` }))).toMatchObject({
      reason: 'invalid token: invalid algorithm',
    });
  });
});

describe('identityFromEnv: errors name the setting', () => {
  const cases: [Record<string, string>, string | RegExp][] = [
    [{ CCMP_DIRECTORY: 'ad' }, 'CCMP_DIRECTORY must be demo, ldap or jwt, not "ad"'],
    [{ CCMP_AUTH_SCHEMES: 'basic,ntlm' }, /CCMP_AUTH_SCHEMES: unknown scheme "ntlm"/],
    [{ CCMP_AUTH_SCHEMES: ' , ' }, 'CCMP_AUTH_SCHEMES must name at least one scheme'],
    [{ CCMP_AUTH_SCHEMES: 'bearer' }, /CCMP_AUTH_SCHEMES has bearer: set JWT_SECRET/],
    [
      { JWT_SECRET: SECRET, JWT_AUDIENCE: 'ccmp' },
      'JWT_ISSUER must be set for bearer (a comma-separated list is allowed)',
    ],
    [
      { JWT_SECRET: 'short', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' },
      'JWT_SECRET: the JWT secret must be at least 32 bytes long',
    ],
    [{ JWT_SECRET: SECRET, JWT_PUBLIC_KEY_FILE: '/etc/ccmp/jwt.pem' }, /set only one of JWT_SECRET/],
    [
      { JWT_PUBLIC_KEY_FILE: '/nowhere.pem' },
      'JWT_PUBLIC_KEY_FILE: cannot read /nowhere.pem: ENOENT: no such file',
    ],
    [
      { AUTH_THROTTLE_FREE: 'three' },
      'AUTH_THROTTLE_FREE must be a whole number from 0 to 1000, not "three"',
    ],
    [
      { AUTH_THROTTLE_FREE: '5', AUTH_THROTTLE_LOCKOUT: '5' },
      'AUTH_THROTTLE_LOCKOUT must be greater than AUTH_THROTTLE_FREE',
    ],
    [{ CCMP_DIRECTORY: 'ldap' }, 'LDAP_URL must be set when CCMP_DIRECTORY=ldap'],
    [
      { CCMP_DIRECTORY: 'ldap', LDAP_URL: 'ldap.example.com' },
      'LDAP_URL must start with ldap:// or ldaps://',
    ],
    [{ CCMP_DIRECTORY: 'ldap', LDAP_URL: 'ldap://x' }, 'LDAP_BASE_DN must be set when CCMP_DIRECTORY=ldap'],
  ];
  const ldap = { CCMP_DIRECTORY: 'ldap', LDAP_URL: 'ldap://127.0.0.1:1', LDAP_BASE_DN: 'dc=example,dc=com' };
  cases.push(
    [{ ...ldap, LDAP_BIND_DN: 'cn=x' }, 'LDAP_BIND_DN needs LDAP_BIND_PASSWORD or LDAP_BIND_PASSWORD_FILE'],
    [{ ...ldap, LDAP_USER_FILTER: '(uid=alice)' }, 'LDAP_USER_FILTER must contain {user}'],
    [{ ...ldap, LDAP_USER_FILTER: '(&(uid={user})' }, /LDAP_USER_FILTER is not a valid LDAP filter/],
    [{ ...ldap, LDAP_TIMEOUT_MS: '0' }, /LDAP_TIMEOUT_MS must be a whole number from 100/],
    [
      { ...ldap, LDAP_REUSE_CONNECTIONS: 'maybe' },
      'LDAP_REUSE_CONNECTIONS must be true or false, not "maybe"',
    ],
    [{ ...ldap, LDAP_CA_FILE: '/etc/ccmp/jwt.pem' }, 'LDAP_CA_FILE applies to ldaps:// URLs only'],
    [{ ...ldap }, 'CCMP_AUTH_SCHEMES has digest: set DIGEST_HA1_ATTRIBUTE or DIGEST_HA1_FILE'],
    [
      { ...ldap, CCMP_AUTH_SCHEMES: 'basic', CCMP_MAPPINGS: '/etc/ccmp/bad-mappings.json' },
      /\/etc\/ccmp\/bad-mappings\.json: \$\.identity\.sipUri: must be a string/,
    ],
    [
      { ...ldap, DIGEST_HA1_ATTRIBUTE: 'a', DIGEST_HA1_FILE: '/etc/ccmp/ha1.txt' },
      'set only one of DIGEST_HA1_ATTRIBUTE and DIGEST_HA1_FILE',
    ],
    [
      { ...ldap, DIGEST_HA1_ATTRIBUTE: 'x', DIGEST_ALGORITHMS: 'SHA-512' },
      'DIGEST_ALGORITHMS must list SHA-256 and/or MD5, not "SHA-512"',
    ],
  );

  it.each(cases)('%j', (env, message) => {
    expect(() => identityFromEnv(env, deps())).toThrow(message);
  });

  it('needs readFile for file settings', () => {
    expect(() =>
      identityFromEnv({ JWT_PUBLIC_KEY_FILE: '/etc/ccmp/jwt.pem' }, deps({ readFile: undefined })),
    ).toThrow('JWT_PUBLIC_KEY_FILE names a file, but this runtime cannot read files');
  });

  it('warns about LDAP settings while the demo directory is active', () => {
    const d = deps();
    identityFromEnv({ LDAP_URL: 'ldap://x' }, d);
    expect(d.logger.records).toContainEqual({
      level: 'warn',
      event: 'identity.ignored_setting',
      fields: { setting: 'LDAP_URL', directory: 'demo' },
    });
  });
});

describe('identityFromEnv: ldap', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd();
  });
  afterAll(async () => {
    await slapd.dispose();
  });

  it('builds a cached LDAP directory with Digest from the HA1 attribute, and describes it without secrets', async () => {
    const { bindDn, bindPassword } = serviceAccount();
    const identity = identityFromEnv(
      {
        CCMP_DIRECTORY: 'ldap',
        CCMP_MAPPINGS: '/etc/ccmp/mappings.json',
        LDAP_URL: slapd.url,
        LDAP_BASE_DN: slapd.suffix,
        LDAP_BIND_DN: bindDn,
        LDAP_BIND_PASSWORD: bindPassword,
        DIGEST_HA1_ATTRIBUTE: 'ccmpDigestHA1',
      },
      deps(),
    );
    expect(identity.demo).toBe(false);
    expect(identity.schemes.map((s) => s.name)).toEqual(['digest', 'digest', 'basic', 'subject']);
    expect(identity.describe()).toContain(
      `directory=ldap(${slapd.url}, base=dc=example,dc=com, bind=${bindDn}`,
    );
    expect(identity.describe()).toContain('mappings=openldap-inetorgperson');
    expect(identity.describe()).toContain('digest(SHA-256+MD5, realm=example.com)');
    expect(identity.describe()).not.toContain(bindPassword);

    const basic = identity.schemes.find((s) => s.name === 'basic')!;
    for (let i = 0; i < 20; i++) {
      expect(await basic.authenticate(request(basicAuth('alice', 'alice-secret')))).toMatchObject({
        status: 'authenticated',
        principal: { systemRoles: ['administrator'] },
      });
    }
    expect(await identity.directory.findUser('xcon-userid:alice@example.com')).toMatchObject({
      username: 'alice',
    });
    // One search, one user bind, one group search, plus the service bind.
    expect(identity.ldapStats?.()).toMatchObject({ operations: 4 });
    await identity.directory.close?.();
  });
});
