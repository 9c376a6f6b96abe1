/** @module Site tokens (Web Crypto ES256/RS256) and the replay cache. */
import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../../src/federation/replay.ts';
import {
  importSiteKey,
  signSiteToken,
  verifySiteToken,
  type SiteClaims,
  type SiteKey,
  type VerifyOptions,
} from '../../src/federation/token.ts';
import { ecKeyPair, rsaKeyPair } from './_sites.ts';

const NOW = 1_750_000_000_000;

function claims(overrides: Partial<SiteClaims> = {}): SiteClaims {
  const iat = NOW / 1000;
  return {
    iss: 'a.example',
    sub: 'xcon-userid:alice@a.example',
    aud: 'b.example',
    jti: 'j1',
    iat,
    exp: iat + 30,
    via: ['a.example'],
    ...overrides,
  };
}

async function pair(alg: 'ES256' | 'RS256', kid = 'k1'): Promise<{ sign: SiteKey; verify: SiteKey }> {
  const keys = alg === 'ES256' ? ecKeyPair(kid) : rsaKeyPair(kid);
  return {
    sign: await importSiteKey(kid, alg, { pem: keys.privatePem }, 'sign'),
    verify: await importSiteKey(kid, alg, { pem: keys.publicPem }, 'verify'),
  };
}

function options(key: SiteKey, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    audience: 'b.example',
    keyFor: (iss, kid) => (iss === 'a.example' && kid === key.kid ? key : undefined),
    now: NOW,
    maxLifetimeS: 60,
    clockSkewS: 5,
    ...overrides,
  };
}

describe('site tokens', () => {
  it.each(['ES256', 'RS256'] as const)('%s: signs and verifies, claims intact', async (alg) => {
    const { sign, verify } = await pair(alg);
    const token = await signSiteToken(sign, claims({ name: 'Alice' }));
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<
      string,
      string
    >;
    expect(header).toEqual({ alg, kid: 'k1', typ: 'JWT' });
    const result = await verifySiteToken(token, options(verify));
    expect(result).toEqual({ ok: true, kid: 'k1', claims: claims({ name: 'Alice' }) });
  });

  it('signs with a JWK private key', async () => {
    const { privatePem, publicPem } = ecKeyPair('k1');
    const exportable = await crypto.subtle.importKey(
      'pkcs8',
      new Uint8Array(Buffer.from(privatePem.replace(/-----[^-]+-----|\s/g, ''), 'base64')),
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['sign'],
    );
    const jwk = (await crypto.subtle.exportKey('jwk', exportable)) as Record<string, unknown>;
    const sign = await importSiteKey('k1', 'ES256', { jwk }, 'sign');
    const verify = await importSiteKey('k1', 'ES256', { pem: publicPem }, 'verify');
    expect((await verifySiteToken(await signSiteToken(sign, claims()), options(verify))).ok).toBe(true);
  });

  it('refuses tampered, malformed and badly timed tokens, saying why', async () => {
    const { sign, verify } = await pair('ES256');
    const reason = async (token: string, o: Partial<VerifyOptions> = {}) => {
      const r = await verifySiteToken(token, options(verify, o));
      return r.ok ? 'accepted' : r.reason;
    };
    const good = await signSiteToken(sign, claims());
    const [h, , s] = good.split('.');
    const evil = Buffer.from(JSON.stringify(claims({ sub: 'xcon-userid:mallory@a.example' }))).toString(
      'base64url',
    );
    expect(await reason(`${h}.${evil}.${s}`)).toBe('bad signature');
    expect(await reason('abc')).toBe('malformed site token');
    expect(await reason(`${h}.e30.`)).toBe('malformed site token');
    expect(await reason(good, { audience: 'c.example' })).toMatch(/not meant for c\.example/);
    expect(await reason(good, { now: NOW + 40_000 })).toBe('the token has expired');
    expect(await reason(good, { now: NOW + 34_000 })).toBe('accepted');
    expect(
      await reason(await signSiteToken(sign, claims({ nbf: NOW / 1000 + 60 } as Partial<SiteClaims>))),
    ).toMatch(/not valid yet/);
    expect(await reason(await signSiteToken(sign, claims({ jti: '' })))).toMatch(/jti/);
    expect(await reason(await signSiteToken(sign, claims({ iss: 'c.example' })))).toMatch(/no key "k1"/);
    expect(await reason(await signSiteToken(sign, claims({ exp: NOW / 1000 + 61 })))).toMatch(
      /longer than 60 s/,
    );
    expect(
      await reason(await signSiteToken(sign, { ...claims(), via: [1] } as unknown as SiteClaims)),
    ).toMatch(/via/);
  });

  it('lets the key, not the token, choose the algorithm', async () => {
    const es = await pair('ES256');
    const rs = await pair('RS256');
    // An RS256 token under the kid of an ES256 key.
    const token = await signSiteToken(rs.sign, claims());
    expect(await verifySiteToken(token, options(es.verify))).toMatchObject({
      ok: false,
      reason: /signs with ES256/,
    });
  });

  it('refuses to import a key for the wrong use or algorithm', async () => {
    const { privatePem, publicPem } = ecKeyPair('k');
    await expect(importSiteKey('k', 'ES256', { pem: privatePem }, 'verify')).rejects.toThrow(/PUBLIC KEY/);
    await expect(importSiteKey('k', 'ES256', { pem: publicPem }, 'sign')).rejects.toThrow(/PRIVATE KEY/);
    await expect(importSiteKey('k', 'RS256', { pem: publicPem }, 'verify')).rejects.toThrow(/RSA/);
    await expect(importSiteKey('k', 'ES256', { pem: 'garbage' }, 'verify')).rejects.toThrow(/not a PEM/);
    await expect(importSiteKey('k', 'ES256', { jwk: { kty: 'RSA' } }, 'verify')).rejects.toThrow(/kty "EC"/);
  });
});

describe('replay cache', () => {
  it('remembers a token until it expires, then forgets it', () => {
    const cache = new ReplayCache(10);
    expect(cache.remember('a|1', 1_000, 0)).toBe('fresh');
    expect(cache.remember('a|1', 1_000, 500)).toBe('replay');
    expect(cache.remember('a|2', 2_000, 600)).toBe('fresh');
    expect(cache.remember('a|3', 3_000, 1_500)).toBe('fresh');
    expect(cache.size).toBe(2);
    expect(cache.remember('a|1', 4_000, 1_500)).toBe('fresh');
  });

  it('refuses new tokens when full of live ones, instead of forgetting a live one', () => {
    const cache = new ReplayCache(2);
    expect(cache.remember('1', 10_000, 0)).toBe('fresh');
    expect(cache.remember('2', 10_000, 0)).toBe('fresh');
    expect(cache.remember('3', 10_000, 0)).toBe('full');
    expect(cache.remember('1', 10_000, 1)).toBe('replay');
    expect(cache.remember('3', 20_000, 10_001)).toBe('fresh');
  });
});
