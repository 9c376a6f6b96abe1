/**
 * Bearer JWT authentication inside workerd: HS256 with the JWT_SECRET secret through the default export,
 * and ES256 with JWT_PUBLIC_KEY through a Worker built from other bindings. The tokens are signed here
 * with Web Crypto, independently of the jsonwebtoken library the gateway verifies them with.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import worker, { createWorker } from '../../src/worker.ts';
import { confCreate, expectCode, http, send, userId } from './_ccmp.ts';
import { JWT_AUDIENCE, JWT_ISSUER, JWT_SECRET } from './_settings.ts';

const encoder = new TextEncoder();

function base64url(data: ArrayBuffer | Uint8Array | string): string {
  const bytes = typeof data === 'string' ? encoder.encode(data) : new Uint8Array(data);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

type Claims = Record<string, unknown>;

function claims(overrides: Claims = {}): Claims {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: 'bob@example.com',
    iss: JWT_ISSUER,
    aud: JWT_AUDIENCE,
    iat: now,
    exp: now + 300,
    ...overrides,
  };
}

async function hs256(payload: Claims, secret = JWT_SECRET): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const input = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
  return `${input}.${base64url(await crypto.subtle.sign('HMAC', key, encoder.encode(input)))}`;
}

async function es256(payload: Claims, key: CryptoKey): Promise<string> {
  const input = `${base64url(JSON.stringify({ alg: 'ES256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
  // Web Crypto's ECDSA signature is r||s, which is what JWS wants (RFC 7518 §3.4).
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, encoder.encode(input));
  return `${input}.${base64url(signature)}`;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('HS256 bearer tokens (JWT_SECRET)', () => {
  it('authenticates the token subject and acts as that user', async () => {
    const reply = expectCode(await send(worker, confCreate('bob'), bearer(await hs256(claims()))), 200);
    expect(reply.confUserID).toBe(userId('bob'));
  });

  it('accepts a user the directory does not know, with no system role', async () => {
    const token = await hs256(claims({ sub: 'sip:dave@example.com', name: 'Dave' }));
    expectCode(await send(worker, confCreate('dave'), bearer(token)), 200);
  });

  it.each([
    ['expired', () => hs256(claims({ exp: Math.floor(Date.now() / 1000) - 3600 }))],
    ['for another audience', () => hs256(claims({ aud: 'someone-else' }))],
    ['from another issuer', () => hs256(claims({ iss: 'https://evil.example.com' }))],
    ['signed with another secret', () => hs256(claims(), 'another-secret-that-is-long-enough-0123456789')],
    [
      'unsigned (alg none)',
      async () =>
        `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(claims()))}.`,
    ],
  ])('refuses a token %s with HTTP 401 and a Bearer challenge', async (_name, token) => {
    const res = await http(worker, confCreate('bob'), bearer(await token()));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Bearer realm=/);
  });
});

describe('ES256 bearer tokens (JWT_PUBLIC_KEY)', () => {
  let privateKey: CryptoKey;
  let bindings: object;
  const es = createWorker();

  beforeAll(async () => {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    privateKey = pair.privateKey;
    const spki = await crypto.subtle.exportKey('spki', pair.publicKey);
    const pem = `-----BEGIN PUBLIC KEY-----\\n${btoa(String.fromCharCode(...new Uint8Array(spki)))}\\n-----END PUBLIC KEY-----`;
    // A secret holds the key on one line, with \n escapes (as `wrangler secret put` is usually fed).
    const { JWT_SECRET: _secret, ...rest } = env;
    bindings = { ...rest, JWT_PUBLIC_KEY: pem, CCMP_AUTH_SCHEMES: 'bearer' };
  });

  it('authenticates a token signed with the matching private key', async () => {
    const token = await es256(claims({ sub: 'carol@example.com' }), privateKey);
    const reply = expectCode(await send(es, confCreate('carol'), { ...bearer(token), env: bindings }), 200);
    expect(reply.confUserID).toBe(userId('carol'));
  });

  it('refuses an HS256 token and Basic credentials when only ES256 bearer tokens are configured', async () => {
    const hs = await http(es, confCreate('carol'), { ...bearer(await hs256(claims())), env: bindings });
    expect(hs.status).toBe(401);
    const basic = await http(es, confCreate('alice'), { env: bindings });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });
});
