/**
 * @module The identity set-up from environment variables: directory, caches, schemes, throttling.
 *
 * Everything is validated here, once, at start: a bad setting throws an Error that names it, so the
 * gateway never starts half-configured. Files (mappings, keys, CA, HA1) are read only through the
 * injected `readFile`, which the Node entry passes and the Workers entry does not.
 */
import type { Logger } from '../log.ts';
import type { Platform } from '../platform.ts';
import { compileMappings, type IdentityMap } from '../identity/identity-map.ts';
import {
  checkMappings,
  defaultMappings,
  parseMappings,
  type MappingsDocument,
} from '../identity/mappings.ts';
import { basicScheme, subjectScheme } from './basic.ts';
import { bearerScheme, jwtKey, type JwtKey, type JwtKeyMaterial } from './bearer.ts';
import { cachedDirectory } from './cached-directory.ts';
import { demoDirectory } from './demo-directory.ts';
import { tokenDirectory } from './token-directory.ts';
import { digestSchemes } from './digest.ts';
import { type Env, flag, integer, list, required, text } from './env-values.ts';
import {
  computeHa1,
  DIGEST_ALGORITHMS,
  parseHa1File,
  supportsDigest,
  withHa1Table,
  type DigestAlgorithm,
  type DigestDirectory,
} from './ha1.ts';
import type { LdapStats } from './ldap-connection.ts';
import { checkFilter, ldapDirectory } from './ldap-directory.ts';
import type { ThrottleOptions } from './throttle.ts';
import type { AuthScheme, Directory } from './types.ts';

export interface IdentityDeps {
  /** The gateway's domain (XCON-URIs, demo users, default mappings). */
  domain: string;
  /** Further domains the gateway serves (CCMP_DOMAINS); the default mappings accept their addresses too. */
  domains?: readonly string[];
  platform: Platform;
  logger: Logger;
  /** Reads a UTF-8 file; only the Node entry passes it. */
  readFile?: (path: string) => string;
  /** Mappings already loaded (e.g. bundled with a Workers script); CCMP_MAPPINGS wins over them. */
  mappings?: unknown;
}

export interface Identity {
  directory: Directory;
  /** In the order they are tried and their challenges sent: bearer, digest, basic, subject. */
  schemes: AuthScheme[];
  /** The demo directory is active: log a warning, it must never face real users. */
  demo: boolean;
  /** For `new FailureThrottle(identity.throttle, platform.now)`. */
  throttle: ThrottleOptions;
  /** One line for the start-up log; no secrets. */
  describe(): string;
  /** LDAP operation counters, when the directory is LDAP. */
  ldapStats?: () => LdapStats;
}

const SCHEMES = ['bearer', 'digest', 'basic', 'subject'] as const;
type SchemeName = (typeof SCHEMES)[number];

export function identityFromEnv(env: Env, deps: IdentityDeps): Identity {
  const kind = text(env, 'CCMP_DIRECTORY') ?? 'demo';
  if (kind !== 'demo' && kind !== 'ldap' && kind !== 'jwt') {
    throw new Error(`CCMP_DIRECTORY must be demo, ldap or jwt, not ${JSON.stringify(kind)}`);
  }
  const files = fileReader(deps);
  const jwtMaterial = jwtKeyMaterial(env, files);
  const enabled = schemeNames(env, kind, jwtMaterial !== undefined);
  const parts: string[] = [];

  let directory: Directory;
  let ldapStats: (() => LdapStats) | undefined;
  let realm: string;
  if (kind === 'ldap') {
    const map = compileMappings(loadMappings(env, deps, files));
    realm = text(env, 'DIGEST_REALM') ?? map.domains[0] ?? deps.domain;
    const built = ldapFromEnv(env, deps, files, map, enabled.includes('digest'), realm);
    directory = built.directory;
    ldapStats = built.stats;
    parts.push(built.description);
  } else if (kind === 'jwt') {
    if (!jwtMaterial)
      throw new Error('CCMP_DIRECTORY=jwt needs JWT_SECRET, JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE');
    realm = text(env, 'DIGEST_REALM') ?? deps.domain.toLowerCase();
    directory = tokenDirectory([deps.domain, ...(deps.domains ?? [])]);
    parts.push(`directory=jwt(${deps.domain})`);
  } else {
    for (const name of ['LDAP_URL', 'CCMP_MAPPINGS']) {
      if (text(env, name) !== undefined) {
        deps.logger.log('warn', 'identity.ignored_setting', { setting: name, directory: 'demo' });
      }
    }
    realm = text(env, 'DIGEST_REALM') ?? deps.domain.toLowerCase();
    directory = demoDirectory(deps.domain);
    if (enabled.includes('digest')) {
      const file = text(env, 'DIGEST_HA1_FILE');
      directory =
        file !== undefined
          ? withHa1Table(directory, parseHa1File(files('DIGEST_HA1_FILE', file), file))
          : demoHa1(directory);
    }
    parts.push(`directory=demo(${deps.domain})`);
  }

  const schemes: AuthScheme[] = [];
  const described: string[] = [];
  for (const name of enabled) {
    switch (name) {
      case 'bearer': {
        if (!jwtMaterial) {
          throw new Error(
            'CCMP_AUTH_SCHEMES has bearer: set JWT_SECRET, JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE',
          );
        }
        const key = namedKey(jwtMaterial);
        schemes.push(bearerFromEnv(env, key, directory, realm));
        described.push(`bearer(${key.algorithms.join('')}, iss=${text(env, 'JWT_ISSUER') ?? ''})`);
        break;
      }
      case 'digest': {
        if (!supportsDigest(directory)) {
          throw new Error('CCMP_AUTH_SCHEMES has digest: set DIGEST_HA1_ATTRIBUTE or DIGEST_HA1_FILE');
        }
        const algorithms = digestAlgorithms(env);
        schemes.push(...digestFromEnv(env, deps, directory, realm, algorithms));
        described.push(`digest(${algorithms.join('+')}, realm=${realm})`);
        break;
      }
      case 'basic':
        schemes.push(basicScheme(directory, realm));
        described.push('basic');
        break;
      case 'subject':
        schemes.push(subjectScheme(directory));
        described.push('subject');
        break;
    }
  }
  const throttle = throttleFromEnv(env);
  parts.push(`schemes=${described.join(',')}`);
  parts.push(
    `throttle=${throttle.freeFailures} free, lockout after ${throttle.lockoutFailures} in ${throttle.windowMs / 1000}s for ${throttle.lockoutMs / 1000}s`,
  );

  return {
    directory,
    schemes,
    demo: kind === 'demo',
    throttle,
    describe: () => parts.join(' '),
    ...(ldapStats ? { ldapStats } : {}),
  };
}

function schemeNames(env: Env, kind: 'demo' | 'ldap' | 'jwt', jwt: boolean): SchemeName[] {
  const given = list(env, 'CCMP_AUTH_SCHEMES');
  const names =
    given ??
    (kind === 'jwt'
      ? ['bearer']
      : [
          ...(kind === 'ldap' ? ['basic', 'digest', 'subject'] : ['basic', 'subject']),
          ...(jwt ? ['bearer'] : []),
        ]);
  for (const n of names) {
    if (!(SCHEMES as readonly string[]).includes(n)) {
      throw new Error(
        `CCMP_AUTH_SCHEMES: unknown scheme ${JSON.stringify(n)} (known: basic, digest, bearer, subject)`,
      );
    }
  }
  if (names.length === 0) throw new Error('CCMP_AUTH_SCHEMES must name at least one scheme');
  // The strongest schemes first: clients that take the first challenge they understand then pick them.
  return SCHEMES.filter((s) => names.includes(s));
}

function fileReader(deps: IdentityDeps): (setting: string, path: string) => string {
  return (setting, path) => {
    if (!deps.readFile) throw new Error(`${setting} names a file, but this runtime cannot read files`);
    try {
      return deps.readFile(path);
    } catch (err) {
      throw new Error(`${setting}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
}

function loadMappings(env: Env, deps: IdentityDeps, files: ReturnType<typeof fileReader>): MappingsDocument {
  const path = text(env, 'CCMP_MAPPINGS');
  if (path !== undefined) return parseMappings(files('CCMP_MAPPINGS', path), path);
  if (deps.mappings !== undefined) return checkMappings(deps.mappings, '(mappings given by the entry point)');
  return defaultMappings(deps.domain, deps.domains);
}

function ldapFromEnv(
  env: Env,
  deps: IdentityDeps,
  files: ReturnType<typeof fileReader>,
  map: IdentityMap,
  digest: boolean,
  realm: string,
): { directory: Directory; stats: () => LdapStats; description: string } {
  const why = 'when CCMP_DIRECTORY=ldap';
  const url = required(env, 'LDAP_URL', why);
  if (!/^ldaps?:\/\/[^/]/i.test(url)) throw new Error('LDAP_URL must start with ldap:// or ldaps://');
  const baseDn = required(env, 'LDAP_BASE_DN', why);
  const bindDn = text(env, 'LDAP_BIND_DN');
  const passwordFile = text(env, 'LDAP_BIND_PASSWORD_FILE');
  const bindPassword =
    passwordFile !== undefined
      ? files('LDAP_BIND_PASSWORD_FILE', passwordFile).replace(/\r?\n$/, '')
      : env.LDAP_BIND_PASSWORD;
  if (bindDn !== undefined && (bindPassword === undefined || bindPassword === '')) {
    throw new Error('LDAP_BIND_DN needs LDAP_BIND_PASSWORD or LDAP_BIND_PASSWORD_FILE');
  }
  if (bindDn === undefined && bindPassword !== undefined) {
    throw new Error('LDAP_BIND_PASSWORD needs LDAP_BIND_DN');
  }
  const caFile = text(env, 'LDAP_CA_FILE');
  const ca = caFile !== undefined ? files('LDAP_CA_FILE', caFile) : text(env, 'LDAP_CA');
  if (ca !== undefined && !/^ldaps:/i.test(url)) {
    throw new Error('LDAP_CA_FILE applies to ldaps:// URLs only');
  }
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error('LDAP_CA_FILE must hold PEM certificates');
  }
  const userFilter = text(env, 'LDAP_USER_FILTER') ?? map.userFilter;
  checkFilter(userFilter, 'LDAP_USER_FILTER', ['user']);
  const timeoutMs = integer(env, 'LDAP_TIMEOUT_MS', 5_000, 100, 120_000);

  const ha1Attribute = text(env, 'DIGEST_HA1_ATTRIBUTE');
  const ha1File = text(env, 'DIGEST_HA1_FILE');
  if (ha1Attribute !== undefined && ha1File !== undefined) {
    throw new Error('set only one of DIGEST_HA1_ATTRIBUTE and DIGEST_HA1_FILE');
  }
  if (ha1Attribute !== undefined && !/^[A-Za-z][A-Za-z0-9-]*$/.test(ha1Attribute)) {
    throw new Error('DIGEST_HA1_ATTRIBUTE must be an LDAP attribute name');
  }
  const reuse = flag(env, 'LDAP_REUSE_CONNECTIONS', true);
  const ldap = ldapDirectory({
    url,
    baseDn,
    ...(bindDn !== undefined ? { bindDn, bindPassword: bindPassword ?? '' } : {}),
    ...(ca !== undefined ? { ca } : {}),
    userFilter,
    mappings: map,
    timeoutMs,
    connectTimeoutMs: integer(env, 'LDAP_CONNECT_TIMEOUT_MS', timeoutMs, 100, 120_000),
    reuseConnections: reuse,
    ...(digest && ha1Attribute !== undefined ? { ha1Attribute } : {}),
    retryAfterSeconds: integer(env, 'LDAP_RETRY_AFTER_S', 5, 1, 3_600),
    logger: deps.logger,
    now: () => deps.platform.now(),
  });
  const withDigest =
    digest && ha1File !== undefined
      ? withHa1Table(ldap, parseHa1File(files('DIGEST_HA1_FILE', ha1File), ha1File))
      : ldap;
  const lookupTtl = integer(env, 'DIRECTORY_CACHE_TTL_S', 300, 0, 86_400);
  const credentialTtl = integer(env, 'CREDENTIAL_CACHE_TTL_S', 60, 0, 3_600);
  const directory = cachedDirectory(withDigest, {
    lookupTtlMs: lookupTtl * 1000,
    negativeTtlMs: integer(env, 'DIRECTORY_NEGATIVE_CACHE_TTL_S', 30, 0, 86_400) * 1000,
    credentialTtlMs: credentialTtl * 1000,
    maxKeys: integer(env, 'DIRECTORY_CACHE_MAX_KEYS', 10_000, 100, 10_000_000),
    now: () => deps.platform.now(),
    randomBytes: (n) => deps.platform.randomBytes(n),
  });
  const digestSource =
    ha1Attribute !== undefined
      ? `, ha1=attribute ${ha1Attribute}`
      : ha1File !== undefined
        ? ', ha1=file'
        : '';
  return {
    directory,
    stats: () => ldap.stats(),
    description:
      `directory=ldap(${url}, base=${baseDn}, bind=${bindDn ?? 'anonymous'}, mappings=${map.name}, ` +
      `connections=${reuse ? 'reused' : 'per operation'}, cache=${lookupTtl}s/${credentialTtl}s${digestSource}, realm=${realm})`,
  };
}

function jwtKeyMaterial(
  env: Env,
  files: ReturnType<typeof fileReader>,
): { setting: string; material: JwtKeyMaterial } | undefined {
  const secret = text(env, 'JWT_SECRET');
  const publicKey = text(env, 'JWT_PUBLIC_KEY');
  const publicKeyFile = text(env, 'JWT_PUBLIC_KEY_FILE');
  const given = [secret, publicKey, publicKeyFile].filter((v) => v !== undefined).length;
  if (given > 1) throw new Error('set only one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_PUBLIC_KEY_FILE');
  if (secret !== undefined) return { setting: 'JWT_SECRET', material: { secret } };
  if (publicKey !== undefined) {
    return { setting: 'JWT_PUBLIC_KEY', material: { publicKey: publicKey.replace(/\\n/g, '\n') } };
  }
  if (publicKeyFile !== undefined) {
    return {
      setting: 'JWT_PUBLIC_KEY_FILE',
      material: { publicKey: files('JWT_PUBLIC_KEY_FILE', publicKeyFile) },
    };
  }
  return undefined;
}

function namedKey({ setting, material }: { setting: string; material: JwtKeyMaterial }): JwtKey {
  try {
    return jwtKey(material);
  } catch (err) {
    throw new Error(`${setting}: ${(err as Error).message}`);
  }
}

function bearerFromEnv(env: Env, key: JwtKey, directory: Directory, realm: string): AuthScheme {
  const claim = text(env, 'JWT_USER_CLAIM') ?? 'sub';
  if (!/^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(claim)) throw new Error('JWT_USER_CLAIM must be a claim name');
  return bearerScheme({
    key,
    issuer: nonEmptyList(env, 'JWT_ISSUER'),
    audience: nonEmptyList(env, 'JWT_AUDIENCE'),
    userClaim: claim,
    clockToleranceS: integer(env, 'JWT_CLOCK_TOLERANCE_S', 30, 0, 300),
    requireDirectoryUser: flag(env, 'JWT_REQUIRE_DIRECTORY_USER', false),
    directory,
    realm,
  });
}

function nonEmptyList(env: Env, name: string): string[] {
  const values = list(env, name);
  if (!values || values.length === 0) {
    throw new Error(`${name} must be set for bearer (a comma-separated list is allowed)`);
  }
  return values;
}

function digestAlgorithms(env: Env): DigestAlgorithm[] {
  const given = list(env, 'DIGEST_ALGORITHMS')?.map((a) => a.toUpperCase());
  if (!given) return [...DIGEST_ALGORITHMS];
  const bad = given.find((a) => !(DIGEST_ALGORITHMS as readonly string[]).includes(a));
  if (bad !== undefined || given.length === 0) {
    throw new Error(`DIGEST_ALGORITHMS must list SHA-256 and/or MD5, not ${JSON.stringify(bad ?? '')}`);
  }
  return [...new Set(given as DigestAlgorithm[])];
}

function digestFromEnv(
  env: Env,
  deps: IdentityDeps,
  directory: DigestDirectory,
  realm: string,
  algorithms: DigestAlgorithm[],
): AuthScheme[] {
  const secret = text(env, 'DIGEST_NONCE_SECRET');
  if (secret !== undefined && secret.length < 32) {
    throw new Error('DIGEST_NONCE_SECRET must be at least 32 characters');
  }
  return digestSchemes({
    directory,
    realm,
    algorithms,
    nonceTtlMs: integer(env, 'DIGEST_NONCE_TTL_S', 300, 10, 86_400) * 1000,
    ...(secret !== undefined ? { secret: new TextEncoder().encode(secret) } : {}),
    now: () => deps.platform.now(),
    randomBytes: (n) => deps.platform.randomBytes(n),
  });
}

function throttleFromEnv(env: Env): ThrottleOptions {
  const freeFailures = integer(env, 'AUTH_THROTTLE_FREE', 3, 0, 1_000);
  const lockoutFailures = integer(env, 'AUTH_THROTTLE_LOCKOUT', 10, 1, 10_000);
  if (lockoutFailures <= freeFailures) {
    throw new Error('AUTH_THROTTLE_LOCKOUT must be greater than AUTH_THROTTLE_FREE');
  }
  return {
    freeFailures,
    lockoutFailures,
    windowMs: integer(env, 'AUTH_THROTTLE_WINDOW_S', 900, 1, 86_400) * 1000,
    lockoutMs: integer(env, 'AUTH_THROTTLE_LOCKOUT_S', 900, 1, 86_400) * 1000,
    delayStepMs: 250,
    maxDelayMs: 2_000,
    maxKeys: 50_000,
  };
}

/** Digest for the demo users, whose passwords are their user names. */
function demoHa1(directory: Directory): DigestDirectory {
  return {
    ...directory,
    async digestHa1(login, realm, algorithm) {
      const principal = await directory.findByLogin(login);
      return principal
        ? { ha1: computeHa1(algorithm, principal.username, realm, principal.username), principal }
        : undefined;
    },
  };
}
