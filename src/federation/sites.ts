/**
 * @module The sites file: this site's name, local domains and signing key, and every peer site
 * with its gateway URL, domains and public keys. Validated once at start.
 *
 * The JSON schema (`sites.schema.json`) catches shapes; the checks here catch what a schema cannot
 * (ranges, overlapping domains, a key given twice, plain HTTP to a remote host). Every problem is
 * reported at once with the file and the JSON path. Keys are then imported with Web Crypto; a key
 * that cannot be used is reported the same way. Files and environment variables are read only
 * through the injected sources, so the module runs unchanged on Workers.
 */
import schemaJson from './sites.schema.json' with { type: 'json' };
import { childPath, validateJson, type SchemaNode } from '../identity/json-schema.ts';
import { importSiteKey, KeyError, type KeyMaterial, type SiteAlgorithm, type SiteKey } from './token.ts';

export interface SitesDocument {
  $schema?: string;
  $comment?: string | string[];
  site: string;
  localDomains: string[];
  signingKey: { kid: string; alg: SiteAlgorithm; privateKey: { file?: string; env?: string } };
  tokenTtlSeconds?: number;
  clockSkewSeconds?: number;
  maxHops?: number;
  timeoutMs?: number;
  replayCacheSize?: number;
  peers: Record<string, PeerDocument>;
}

export interface PeerDocument {
  url: string;
  allowHttp?: boolean;
  domains: string[];
  userDomains?: string[];
  keys: PublicKeyDocument[];
  timeoutMs?: number;
  listing?: { merge: boolean; budgetMs?: number };
  systemRoles?: Record<string, string[]>;
}

export interface PublicKeyDocument {
  kid: string;
  alg: SiteAlgorithm;
  pem?: string;
  jwk?: Record<string, unknown>;
  file?: string;
}

/** A peer site, resolved and with its keys imported. */
export interface PeerSite {
  site: string;
  url: string;
  /** Lower case; requests for conferences of these domains go to this peer. */
  domains: string[];
  /** Lower case; the users this peer may assert. */
  userDomains: string[];
  /** By kid. */
  keys: ReadonlyMap<string, SiteKey>;
  timeoutMs: number;
  listing: { merge: boolean; budgetMs: number };
  /** By lower-case XCON-USERID. */
  systemRoles: ReadonlyMap<string, string[]>;
}

/** The whole federation configuration, ready to use. */
export interface SitesConfig {
  site: string;
  localDomains: string[];
  signingKey: SiteKey;
  tokenTtlSeconds: number;
  clockSkewSeconds: number;
  maxHops: number;
  replayCacheSize: number;
  peers: PeerSite[];
}

export interface SitesIssue {
  file: string;
  path: string;
  message: string;
}

export class SitesError extends Error {
  override readonly name = 'SitesError';
  constructor(readonly issues: SitesIssue[]) {
    super(`invalid sites file:\n${issues.map((i) => `  ${i.file}: ${i.path}: ${i.message}`).join('\n')}`);
  }
}

export interface SitesSources {
  /** Reads a file named in the sites file (paths are relative to it); only the Node entry passes it. */
  readFile?: (path: string) => string;
  /** Environment variables, for `privateKey.env`. */
  env?: Record<string, string | undefined>;
  /** Default call time limit when the file gives none (the gateway's backend timeout). */
  defaultTimeoutMs?: number;
}

export const SITES_SCHEMA = schemaJson as SchemaNode;

export const SITES_DEFAULTS = {
  tokenTtlSeconds: 30,
  clockSkewSeconds: 5,
  maxHops: 1,
  timeoutMs: 10_000,
  replayCacheSize: 100_000,
  listingBudgetMs: 2_000,
} as const;

/** Longest token lifetime accepted or issued, in seconds. */
export const MAX_TOKEN_LIFETIME_S = 60;

const RANGES = {
  tokenTtlSeconds: [1, MAX_TOKEN_LIFETIME_S],
  clockSkewSeconds: [0, 60],
  maxHops: [1, 8],
  timeoutMs: [100, 120_000],
  replayCacheSize: [100, 10_000_000],
} as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Parses and checks a sites file (shape and consistency, not the keys). Throws SitesError. */
export function parseSites(text: string, file: string): SitesDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SitesError([{ file, path: '$', message: `is not JSON: ${(err as Error).message}` }]);
  }
  return checkSites(value, file);
}

/** Checks an already parsed sites document. */
export function checkSites(value: unknown, file: string): SitesDocument {
  const issues: SitesIssue[] = validateJson(SITES_SCHEMA, value).map((i) => ({ file, ...i }));
  if (issues.length === 0) issues.push(...semanticIssues(value as SitesDocument, file));
  if (issues.length > 0) throw new SitesError(issues);
  return value as SitesDocument;
}

const at = (...keys: (string | number)[]) => keys.reduce<string>((p, k) => childPath(p, k), '$');
const lower = (list: readonly string[]) => list.map((d) => d.toLowerCase());

function semanticIssues(doc: SitesDocument, file: string): SitesIssue[] {
  const issues: SitesIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ file, path, message });
  const range = (value: number | undefined, [min, max]: readonly [number, number], path: string) => {
    if (value !== undefined && (value < min || value > max)) {
      issue(path, `must be between ${min} and ${max}, not ${value}`);
    }
  };
  for (const name of Object.keys(RANGES) as (keyof typeof RANGES)[]) range(doc[name], RANGES[name], at(name));

  const site = doc.site.toLowerCase();
  const local = new Set(lower(doc.localDomains));
  if (!local.has(site)) issue(at('localDomains'), `must include the site name ${doc.site}`);
  const privateKey = doc.signingKey.privateKey;
  if ((privateKey.file === undefined) === (privateKey.env === undefined)) {
    issue(at('signingKey', 'privateKey'), 'must have exactly one of "file" and "env"');
  }

  const owner = new Map<string, string>();
  for (const [name, peer] of Object.entries(doc.peers)) {
    const p = (...keys: (string | number)[]) => at('peers', name, ...keys);
    if (name.toLowerCase() === site) issue(p(), 'is this site itself');
    peer.domains.forEach((d, i) => {
      const domain = d.toLowerCase();
      if (local.has(domain))
        issue(p('domains', i), `${d} is a local domain: local conferences are never forwarded`);
      const other = owner.get(domain);
      if (other !== undefined) issue(p('domains', i), `${d} is already routed to ${other}`);
      owner.set(domain, name);
    });
    peer.userDomains?.forEach((d, i) => {
      if (local.has(d.toLowerCase())) {
        issue(p('userDomains', i), `${d} is a local domain: a peer may never assert local users`);
      }
    });
    let url: URL | undefined;
    try {
      url = new URL(peer.url);
    } catch {
      issue(p('url'), `${JSON.stringify(peer.url)} is not a URL`);
    }
    if (url?.protocol === 'http:' && !LOOPBACK.has(url.hostname) && peer.allowHttp !== true) {
      issue(p('url'), 'must use https (plain http only to a loopback address, or with "allowHttp": true)');
    }
    if (url && (url.username !== '' || url.password !== '')) issue(p('url'), 'must not carry credentials');
    range(peer.timeoutMs, RANGES.timeoutMs, p('timeoutMs'));
    const budget = peer.listing?.budgetMs;
    if (budget !== undefined) {
      const max = peer.timeoutMs ?? doc.timeoutMs ?? RANGES.timeoutMs[1];
      range(budget, [50, max], p('listing', 'budgetMs'));
    }
    const kids = new Set<string>();
    peer.keys.forEach((key, i) => {
      const given = [key.pem, key.jwk, key.file].filter((v) => v !== undefined).length;
      if (given !== 1) issue(p('keys', i), 'must have exactly one of "pem", "jwk" and "file"');
      if (kids.has(key.kid)) issue(p('keys', i, 'kid'), `key ID ${key.kid} is listed twice`);
      kids.add(key.kid);
    });
    const userDomains = new Set(lower(peer.userDomains ?? peer.domains));
    for (const userId of Object.keys(peer.systemRoles ?? {})) {
      const host = /@([^@]+)$/.exec(userId)?.[1]?.toLowerCase();
      if (host === undefined || !userDomains.has(host)) {
        issue(p('systemRoles', userId), `is not a user of a domain ${name} may assert`);
      }
    }
  }
  return issues;
}

/** Checks the file, reads and imports every key, and resolves the defaults. Throws SitesError. */
export async function loadSites(
  value: unknown,
  file: string,
  sources: SitesSources = {},
): Promise<SitesConfig> {
  const doc = checkSites(value, file);
  const issues: SitesIssue[] = [];
  const timeoutDefault = doc.timeoutMs ?? sources.defaultTimeoutMs ?? SITES_DEFAULTS.timeoutMs;

  const attempt = async <T>(path: string, work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof KeyError)) throw err;
      issues.push({ file, path, message: err.message });
      return undefined;
    }
  };
  const readFile = (path: string): string => {
    if (!sources.readFile)
      throw new KeyError(`key files cannot be read here: give the key in an environment variable`);
    try {
      return sources.readFile(path);
    } catch (err) {
      throw new KeyError(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const { kid, alg, privateKey } = doc.signingKey;
  const signingKey = await attempt(at('signingKey', 'privateKey'), async () => {
    let text: string;
    if (privateKey.env !== undefined) {
      const raw = sources.env?.[privateKey.env];
      if (raw === undefined || raw.trim() === '')
        throw new KeyError(`the environment variable ${privateKey.env} is not set`);
      text = raw;
    } else {
      text = readFile(privateKey.file ?? '');
    }
    return importSiteKey(kid, alg, materialOf(text), 'sign');
  });

  const peers: PeerSite[] = [];
  for (const [name, peer] of Object.entries(doc.peers)) {
    const keys = new Map<string, SiteKey>();
    for (const [i, key] of peer.keys.entries()) {
      const imported = await attempt(at('peers', name, 'keys', i), async () => {
        const material: KeyMaterial =
          key.jwk !== undefined
            ? { jwk: key.jwk }
            : key.pem !== undefined
              ? { pem: key.pem }
              : materialOf(readFile(key.file ?? ''));
        return importSiteKey(key.kid, key.alg, material, 'verify');
      });
      if (imported) keys.set(key.kid, imported);
    }
    const timeoutMs = peer.timeoutMs ?? timeoutDefault;
    peers.push({
      site: name.toLowerCase(),
      url: peer.url,
      domains: lower(peer.domains),
      userDomains: lower(peer.userDomains ?? peer.domains),
      keys,
      timeoutMs,
      listing: {
        merge: peer.listing?.merge ?? false,
        budgetMs: Math.min(peer.listing?.budgetMs ?? SITES_DEFAULTS.listingBudgetMs, timeoutMs),
      },
      systemRoles: new Map(
        Object.entries(peer.systemRoles ?? {}).map(([id, roles]) => [id.toLowerCase(), roles]),
      ),
    });
  }
  if (issues.length > 0 || !signingKey) throw new SitesError(issues);
  return {
    site: doc.site.toLowerCase(),
    localDomains: lower(doc.localDomains),
    signingKey,
    tokenTtlSeconds: doc.tokenTtlSeconds ?? SITES_DEFAULTS.tokenTtlSeconds,
    clockSkewSeconds: doc.clockSkewSeconds ?? SITES_DEFAULTS.clockSkewSeconds,
    maxHops: doc.maxHops ?? SITES_DEFAULTS.maxHops,
    replayCacheSize: doc.replayCacheSize ?? SITES_DEFAULTS.replayCacheSize,
    peers,
  };
}

/** A key file or variable holds a PEM, or a JWK as JSON. */
function materialOf(text: string): KeyMaterial {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return { pem: trimmed };
  let jwk: unknown;
  try {
    jwk = JSON.parse(trimmed);
  } catch {
    throw new KeyError('the key is neither a PEM document nor a JWK');
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw new KeyError('the JWK is not an object');
  return { jwk: jwk as Record<string, unknown> };
}
