/**
 * @module Bearer JWT authentication: HS256 with a shared secret, or RS256/ES256 with a public key.
 *
 * The key decides the algorithms, never the token: a secret accepts only HS256 and a public key only
 * its own signature algorithm, so neither `alg: none` nor an HS256 token "signed" with the public
 * key text can pass. Keys are built once (`createSecretKey`/`createPublicKey`), which also makes
 * HS256 verification far cheaper than with a raw string. Issuer, audience and expiry are required.
 * The user is looked up in the directory for roles and accounts; a user the directory does not know
 * gets a principal from the token alone, with no system roles, unless the directory is required.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Algorithm, JwtPayload, VerifyOptions } from 'jsonwebtoken';
import { sipUriFromUserId } from '../model/ids.ts';
import { quote } from './auth-params.ts';
import type { AuthOutcome, AuthScheme, Directory, Principal } from './types.ts';

export type JwtKeyMaterial = { secret: string | Uint8Array } | { publicKey: string };

export interface JwtKey {
  key: KeyObject;
  algorithms: Algorithm[];
}

export interface BearerOptions {
  key: JwtKey;
  issuer: string | string[];
  audience: string | string[];
  /** The claim that holds the XCON-USERID (a SIP URI or `user@host` is converted); default `sub`. */
  userClaim?: string;
  /** The claim that holds a display name; default `name`. */
  nameClaim?: string;
  /** Allowed clock difference for `exp` and `nbf`; default 30 s. */
  clockToleranceS?: number;
  directory?: Directory;
  /** Refuse tokens of users the directory does not know; default false. */
  requireDirectoryUser?: boolean;
  realm: string;
}

/** Minimum HS256 secret size (RFC 7518 §3.2: a key as long as the hash output). */
const MIN_SECRET_BYTES = 32;
const MAX_TOKEN_LENGTH = 16_384;

/** Builds the verification key once and derives the only algorithm it may verify. */
export function jwtKey(material: JwtKeyMaterial): JwtKey {
  if ('secret' in material) {
    const bytes =
      typeof material.secret === 'string'
        ? Buffer.from(material.secret, 'utf8')
        : Buffer.from(material.secret);
    if (bytes.toString('utf8').includes('-----BEGIN')) {
      throw new Error(
        'the JWT secret is a PEM key: give public keys as a public key, never as an HS256 secret',
      );
    }
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new Error(`the JWT secret must be at least ${MIN_SECRET_BYTES} bytes long`);
    }
    return { key: createSecretKey(bytes), algorithms: ['HS256'] };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(material.publicKey);
  } catch (err) {
    throw new Error(`the JWT public key is not a PEM public key or certificate: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new Error('the JWT RSA key must have at least 2048 bits');
    }
    return { key, algorithms: ['RS256'] };
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { key, algorithms: ['ES256'] };
  }
  throw new Error('the JWT public key must be RSA (RS256) or EC P-256 (ES256)');
}

export function bearerScheme(options: BearerOptions): AuthScheme {
  const userClaim = options.userClaim ?? 'sub';
  const nameClaim = options.nameClaim ?? 'name';
  const verifyOptions: VerifyOptions & { complete?: false } = {
    algorithms: options.key.algorithms,
    issuer: Array.isArray(options.issuer) ? (options.issuer as [string, ...string[]]) : options.issuer,
    audience: Array.isArray(options.audience)
      ? (options.audience as [string, ...string[]])
      : options.audience,
    clockTolerance: options.clockToleranceS ?? 30,
  };
  const reject = (reason: string): AuthOutcome => ({ status: 'rejected', scheme: 'bearer', reason });

  return {
    name: 'bearer',
    challenge: () => `Bearer realm=${quote(options.realm)}`,
    async authenticate(request) {
      const header = request.header('authorization');
      if (!header || !/^bearer\s/i.test(header)) return { status: 'absent' };
      const token = header.slice(7).trim();
      if (
        token.length > MAX_TOKEN_LENGTH ||
        !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token)
      ) {
        return reject('malformed bearer token');
      }
      let payload: JwtPayload;
      try {
        const verified = jwt.verify(token, options.key.key, verifyOptions);
        if (typeof verified === 'string') return reject('the token payload is not a JSON object');
        payload = verified;
      } catch (err) {
        return reject(tokenError(err));
      }
      if (typeof payload.exp !== 'number') return reject('the token has no expiry (exp)');
      const claim: unknown = payload[userClaim];
      const userId = typeof claim === 'string' ? toUserId(claim) : undefined;
      if (userId === undefined) {
        return reject(`the token's "${userClaim}" claim does not hold an XCON-USERID`);
      }

      const known = options.directory ? await options.directory.findUser(userId) : undefined;
      if (known) return { status: 'authenticated', principal: known, scheme: 'bearer' };
      if (options.requireDirectoryUser) return reject(`${userId} is not in the directory`);
      const name: unknown = payload[nameClaim];
      const principal: Principal = {
        userId,
        username: userId.slice('xcon-userid:'.length).replace(/@.*$/, ''),
        systemRoles: [],
      };
      const sipUri = sipUriFromUserId(userId);
      if (sipUri !== undefined) principal.sipUri = sipUri;
      if (typeof name === 'string' && name !== '') principal.displayName = name;
      return { status: 'authenticated', principal, scheme: 'bearer' };
    },
  };
}

/** `xcon-userid:a@b` as is, `sip:a@b` the way Linphone derives it, `a@b` prefixed; lower case. */
function toUserId(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  const id = /^sips?:/.test(v)
    ? `xcon-userid:${v
        .replace(/^sips?:/, '')
        .replace(/[;?>].*$/, '')
        .replace(/:\d+$/, '')}`
    : v.startsWith('xcon-userid:')
      ? v
      : `xcon-userid:${v}`;
  return /^xcon-userid:[^@\s:/]+@[a-z0-9.-]+$/.test(id) ? id : undefined;
}

function tokenError(err: unknown): string {
  if (err instanceof jwt.TokenExpiredError) return 'the token has expired';
  if (err instanceof jwt.NotBeforeError) return 'the token is not valid yet';
  if (err instanceof jwt.JsonWebTokenError) return `invalid token: ${err.message}`;
  return 'invalid token';
}
