/**
 * @module Site tokens: short-lived JWTs (ES256 or RS256) that one gateway signs for its user and
 * another verifies, with Web Crypto only, so federation runs on Node and on Workers alike.
 *
 * The verifier picks the key by the token's issuer and `kid`, and the key decides the algorithm:
 * a token whose header names another algorithm than its key's is refused, so neither `alg: none`
 * nor an algorithm swap can pass. Lifetime, audience, expiry and the claim types are checked here;
 * replay and which users an issuer may assert are the federation scheme's business.
 */

export const SITE_ALGORITHMS = ['ES256', 'RS256'] as const;
export type SiteAlgorithm = (typeof SITE_ALGORITHMS)[number];

type WebKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** A key with its ID and algorithm, ready for Web Crypto. */
export interface SiteKey {
  kid: string;
  alg: SiteAlgorithm;
  key: WebKey;
}

/** A key as configured: PEM text (SPKI public or PKCS#8 private) or a JWK. */
export type KeyMaterial = { pem: string } | { jwk: Record<string, unknown> };

export interface SiteClaims {
  /** The signing site. */
  iss: string;
  /** The user's XCON-USERID. */
  sub: string;
  /** The receiving site. */
  aud: string;
  jti: string;
  iat: number;
  exp: number;
  /** Sites the request went through, the signer last: the hop count is its length. */
  via: string[];
  /** The user's display name, when known. */
  name?: string;
}

export class KeyError extends Error {
  override readonly name = 'KeyError';
}

const MAX_TOKEN_LENGTH = 8192;
const MAX_JTI_LENGTH = 128;

function params(alg: SiteAlgorithm) {
  return alg === 'ES256'
    ? {
        import: { name: 'ECDSA', namedCurve: 'P-256' } as const,
        sign: { name: 'ECDSA', hash: 'SHA-256' } as const,
      }
    : {
        import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const,
        sign: { name: 'RSASSA-PKCS1-v1_5' } as const,
      };
}

/** Imports a public (verify) or private (sign) key; throws KeyError with a reason an operator can act on. */
export async function importSiteKey(
  kid: string,
  alg: SiteAlgorithm,
  material: KeyMaterial,
  use: 'sign' | 'verify',
): Promise<SiteKey> {
  const { import: algorithm } = params(alg);
  let key: WebKey;
  try {
    if ('jwk' in material) {
      const jwk = material.jwk;
      const kty = alg === 'ES256' ? 'EC' : 'RSA';
      if (jwk.kty !== kty) throw new KeyError(`a ${alg} key must be a JWK with kty "${kty}"`);
      if (use === 'verify' && 'd' in jwk) {
        throw new KeyError('this is a private key: configure the public part only');
      }
      if (use === 'sign' && !('d' in jwk))
        throw new KeyError('this is a public key: a private key is needed');
      const { kid: _kid, use: _use, key_ops: _ops, alg: _alg, ext: _ext, ...rest } = jwk;
      key = await crypto.subtle.importKey('jwk', { ...rest, ext: false }, algorithm, false, [use]);
    } else {
      const { label, der } = decodePem(material.pem);
      const expected = use === 'verify' ? 'PUBLIC KEY' : 'PRIVATE KEY';
      if (label !== expected) throw new KeyError(pemAdvice(label, use));
      key = await crypto.subtle.importKey(use === 'verify' ? 'spki' : 'pkcs8', der, algorithm, false, [use]);
    }
  } catch (err) {
    if (err instanceof KeyError) throw err;
    throw new KeyError(
      `not a usable ${alg === 'ES256' ? 'EC P-256' : 'RSA'} key for ${alg}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (alg === 'RS256') {
    const bits = (key.algorithm as { modulusLength?: number }).modulusLength ?? 0;
    if (bits < 2048) throw new KeyError(`the RSA key has ${bits} bits: at least 2048 are required`);
  }
  return { kid, alg, key };
}

function pemAdvice(label: string, use: 'sign' | 'verify'): string {
  switch (label) {
    case 'EC PRIVATE KEY':
    case 'RSA PRIVATE KEY':
      return use === 'sign'
        ? `a ${label} PEM must be converted to PKCS#8 ("openssl pkcs8 -topk8 -nocrypt")`
        : 'this is a private key: configure the public part only';
    case 'ENCRYPTED PRIVATE KEY':
      return 'encrypted private keys are not supported: give an unencrypted PKCS#8 key from a protected file';
    case 'RSA PUBLIC KEY':
      return 'a PKCS#1 RSA public key must be converted to SPKI ("openssl rsa -RSAPublicKey_in -pubout")';
    case 'CERTIFICATE':
      return 'give the public key, not a certificate ("openssl x509 -pubkey -noout")';
    default:
      return use === 'sign'
        ? `expected a "PRIVATE KEY" (PKCS#8) PEM, not "${label}"`
        : `expected a "PUBLIC KEY" (SPKI) PEM, not "${label}"`;
  }
}

function decodePem(pem: string): { label: string; der: Uint8Array<ArrayBuffer> } {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m?.[1] || m[2] === undefined) throw new KeyError('not a PEM document (-----BEGIN ...-----)');
  const body = m[2].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(body)) throw new KeyError('the PEM body is not base64');
  return { label: m[1], der: fromBinary(atob(body)) };
}

/** Signs a site token: header `{alg, kid, typ}`, the claims as given. */
export async function signSiteToken(key: SiteKey, claims: SiteClaims): Promise<string> {
  const header = { alg: key.alg, kid: key.kid, typ: 'JWT' };
  const input = `${b64urlJson(header)}.${b64urlJson(claims)}`;
  const signature = await crypto.subtle.sign(params(key.alg).sign, key.key, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(signature))}`;
}

export interface VerifyOptions {
  /** This site: the token's `aud`. */
  audience: string;
  /** The key an issuer signs with under this `kid`, if configured. */
  keyFor(iss: string, kid: string): SiteKey | undefined;
  /** Milliseconds since the epoch. */
  now: number;
  /** Longest lifetime (exp - iat) accepted, in seconds. */
  maxLifetimeS: number;
  clockSkewS: number;
}

export type VerifyResult =
  { ok: true; claims: SiteClaims; kid: string } | { ok: false; reason: string; iss?: string; kid?: string };

/** Verifies signature and claims; never throws for a bad token. */
export async function verifySiteToken(token: string, options: VerifyOptions): Promise<VerifyResult> {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    return { ok: false, reason: 'malformed site token' };
  }
  const [h = '', p = '', s = ''] = token.split('.');
  const header = decodeJson(h);
  const payload = decodeJson(p);
  if (!header || !payload) return { ok: false, reason: 'malformed site token' };
  const iss = typeof payload.iss === 'string' ? payload.iss.toLowerCase() : undefined;
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const refuse = (reason: string): VerifyResult => ({
    ok: false,
    reason,
    ...(iss !== undefined ? { iss } : {}),
    ...(kid !== undefined ? { kid } : {}),
  });
  if (header.crit !== undefined) return refuse('the token has critical header parameters');
  if (iss === undefined) return refuse('the token has no issuer (iss)');
  if (kid === undefined) return refuse('the token has no key ID (kid)');
  const key = options.keyFor(iss, kid);
  if (!key) return refuse(`no key "${kid}" is configured for site ${iss}`);
  if (header.alg !== key.alg)
    return refuse(`key "${kid}" of ${iss} signs with ${key.alg}, not ${String(header.alg)}`);
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = fromB64url(s);
  } catch {
    return refuse('malformed site token');
  }
  const valid = await crypto.subtle.verify(
    params(key.alg).sign,
    key.key,
    signature,
    new TextEncoder().encode(`${h}.${p}`),
  );
  if (!valid) return refuse('bad signature');

  const now = options.now / 1000;
  const skew = options.clockSkewS;
  const aud = payload.aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.some((a) => typeof a === 'string' && a.toLowerCase() === options.audience)) {
    return refuse(`the token is not meant for ${options.audience}`);
  }
  const { exp, iat, nbf, jti, sub, via, name } = payload;
  if (typeof exp !== 'number' || typeof iat !== 'number') return refuse('the token needs exp and iat');
  if (exp <= now - skew) return refuse('the token has expired');
  if (iat > now + skew) return refuse('the token is issued in the future');
  if (typeof nbf === 'number' && nbf > now + skew) return refuse('the token is not valid yet');
  if (exp - iat > options.maxLifetimeS) {
    return refuse(`the token lives longer than ${options.maxLifetimeS} s`);
  }
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
    return refuse('the token needs a jti of at most 128 characters');
  }
  if (typeof sub !== 'string') return refuse('the token has no subject (sub)');
  if (via !== undefined && !(Array.isArray(via) && via.every((v) => typeof v === 'string'))) {
    return refuse('the via claim must be a list of sites');
  }
  const claims: SiteClaims = {
    iss,
    sub,
    aud: options.audience,
    jti,
    iat,
    exp,
    via: Array.isArray(via) ? via.map((v) => v.toLowerCase()) : [],
    ...(typeof name === 'string' && name !== '' ? { name } : {}),
  };
  return { ok: true, claims, kid };
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromB64url(part)));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function b64urlJson(value: unknown): string {
  return b64url(new TextEncoder().encode(JSON.stringify(value)));
}

export function b64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromB64url(value: string): Uint8Array<ArrayBuffer> {
  const b64 = value.replace(/-/g, '+').replace(/_/g, '/');
  return fromBinary(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
}

function fromBinary(binary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
