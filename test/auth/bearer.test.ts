import { createHmac, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { bearerScheme, jwtKey, type BearerOptions } from '../../src/auth/bearer.ts';
import { demoDirectory } from '../../src/auth/demo-directory.ts';
import { request } from './_helpers.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ecPublicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const claims = {
  sub: 'xcon-userid:dave@example.com',
  iss: 'https://idp.example.com',
  aud: 'ccmp',
  name: 'Dave',
};

function scheme(options: Partial<BearerOptions> = {}) {
  return bearerScheme({
    key: jwtKey({ secret: SECRET }),
    issuer: 'https://idp.example.com',
    audience: 'ccmp',
    realm: 'example.com',
    ...options,
  });
}

const bearer = (token: string) => request({ authorization: `Bearer ${token}` });
const sign = (payload: object, key: jwt.Secret = SECRET, options: jwt.SignOptions = {}) =>
  jwt.sign(payload, key, { algorithm: 'HS256', expiresIn: 300, ...options });
const b64 = (v: object | string) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('bearerScheme', () => {
  it('accepts a valid HS256 token and gives a principal from it when the directory does not know the user', async () => {
    expect(await scheme().authenticate(bearer(sign(claims)))).toEqual({
      status: 'authenticated',
      scheme: 'bearer',
      principal: {
        userId: 'xcon-userid:dave@example.com',
        username: 'dave',
        sipUri: 'sip:dave@example.com',
        displayName: 'Dave',
        systemRoles: [],
      },
    });
  });

  it('takes roles and accounts from the directory when it knows the user', async () => {
    const s = scheme({ directory: demoDirectory('example.com') });
    const outcome = await s.authenticate(bearer(sign({ ...claims, sub: 'sip:alice@example.com' })));
    expect(outcome).toMatchObject({
      status: 'authenticated',
      principal: { username: 'alice', systemRoles: ['administrator'] },
    });
  });

  it('reads the XCON-USERID from a configured claim', async () => {
    const s = scheme({
      userClaim: 'sip_uri',
      requireDirectoryUser: true,
      directory: demoDirectory('example.com'),
    });
    expect(
      await s.authenticate(bearer(sign({ ...claims, sip_uri: 'sip:bob@example.com;transport=tls' }))),
    ).toMatchObject({
      principal: { userId: 'xcon-userid:bob@example.com' },
    });
    expect(await s.authenticate(bearer(sign(claims)))).toMatchObject({ status: 'rejected' });
  });

  it('accepts RS256 and ES256 with their public keys', async () => {
    const rs = scheme({ key: jwtKey({ publicKey: rsaPublicPem }) });
    const es = scheme({ key: jwtKey({ publicKey: ecPublicPem }) });
    expect((await rs.authenticate(bearer(sign(claims, rsa.privateKey, { algorithm: 'RS256' })))).status).toBe(
      'authenticated',
    );
    expect((await es.authenticate(bearer(sign(claims, ec.privateKey, { algorithm: 'ES256' })))).status).toBe(
      'authenticated',
    );
  });

  describe('refuses', () => {
    const reasonOf = async (token: string, s = scheme()) => {
      const outcome = await s.authenticate(bearer(token));
      expect(outcome.status).toBe('rejected');
      return outcome.status === 'rejected' ? outcome.reason : '';
    };

    it('alg none', async () => {
      const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, exp: Date.now() / 1000 + 300 })}.`;
      expect(await reasonOf(unsigned)).toMatch(/invalid token/);
    });

    it('an HS256 token signed with the RSA public key text (algorithm confusion)', async () => {
      const header = b64({ alg: 'HS256', typ: 'JWT' });
      const body = b64({ ...claims, exp: Math.floor(Date.now() / 1000) + 300 });
      const mac = createHmac('sha256', rsaPublicPem).update(`${header}.${body}`).digest('base64url');
      expect(
        await reasonOf(`${header}.${body}.${mac}`, scheme({ key: jwtKey({ publicKey: rsaPublicPem }) })),
      ).toBe('invalid token: invalid algorithm');
    });

    it('an RS256 token when the key is a secret', async () => {
      expect(await reasonOf(sign(claims, rsa.privateKey, { algorithm: 'RS256' }))).toBe(
        'invalid token: invalid algorithm',
      );
    });

    it('an expired token, beyond the clock tolerance', async () => {
      const past = Math.floor(Date.now() / 1000) - 120;
      expect(await reasonOf(jwt.sign({ ...claims, exp: past }, SECRET))).toBe('the token has expired');
      const justNow = Math.floor(Date.now() / 1000) - 10;
      expect(
        (await scheme().authenticate(bearer(jwt.sign({ ...claims, exp: justNow }, SECRET)))).status,
      ).toBe('authenticated');
    });

    it('a token not valid yet', async () => {
      expect(await reasonOf(sign({ ...claims, nbf: Math.floor(Date.now() / 1000) + 600 }))).toBe(
        'the token is not valid yet',
      );
    });

    it('a token without expiry', async () => {
      expect(await reasonOf(jwt.sign(claims, SECRET))).toBe('the token has no expiry (exp)');
    });

    it('a wrong audience or issuer, or none', async () => {
      expect(await reasonOf(sign({ ...claims, aud: 'other' }))).toMatch(/audience invalid/);
      expect(await reasonOf(sign({ ...claims, iss: 'https://evil.example' }))).toMatch(/issuer invalid/);
      expect(await reasonOf(sign({ sub: claims.sub, iss: claims.iss }))).toMatch(/audience invalid/);
    });

    it('a tampered payload', async () => {
      const [header, , signature] = sign(claims).split('.');
      const forged = b64({
        ...claims,
        sub: 'xcon-userid:alice@example.com',
        exp: Math.floor(Date.now() / 1000) + 300,
      });
      expect(await reasonOf(`${header}.${forged}.${signature}`)).toBe('invalid token: invalid signature');
    });

    it('a token signed with another secret, or malformed', async () => {
      expect(await reasonOf(sign(claims, 'another-secret-that-is-also-long-enough'))).toBe(
        'invalid token: invalid signature',
      );
      expect(await reasonOf('not a token')).toBe('malformed bearer token');
    });

    it('a user claim that is not an XCON-USERID', async () => {
      expect(await reasonOf(sign({ ...claims, sub: '12345' }))).toMatch(/does not hold an XCON-USERID/);
    });
  });

  it('leaves other schemes alone', async () => {
    expect(await scheme().authenticate(request({ authorization: 'Basic YTpi' }))).toEqual({
      status: 'absent',
    });
  });
});

describe('jwtKey', () => {
  it('lets the key decide the algorithm', () => {
    expect(jwtKey({ secret: SECRET }).algorithms).toEqual(['HS256']);
    expect(jwtKey({ publicKey: rsaPublicPem }).algorithms).toEqual(['RS256']);
    expect(jwtKey({ publicKey: ecPublicPem }).algorithms).toEqual(['ES256']);
  });

  it('refuses a PEM key given as a secret, short secrets, weak or unsupported keys', () => {
    expect(() => jwtKey({ secret: rsaPublicPem })).toThrow(/PEM key/);
    expect(() => jwtKey({ secret: 'short' })).toThrow(/at least 32 bytes/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(() => jwtKey({ publicKey: small.toString() })).toThrow(/2048 bits/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(() => jwtKey({ publicKey: p384.toString() })).toThrow(/RSA \(RS256\) or EC P-256/);
    expect(() => jwtKey({ publicKey: 'garbage' })).toThrow(/not a PEM public key/);
  });

  it('verifies HS256 with a prepared key fast enough for every request', async () => {
    const s = scheme();
    const req = bearer(sign(claims));
    const started = performance.now();
    for (let i = 0; i < 5_000; i++) await s.authenticate(req);
    // With a raw string secret this loop takes ~10 s, with a KeyObject ~0.2 s (more when tests run in parallel).
    expect(performance.now() - started).toBeLessThan(4_000);
  });
});
