/**
 * @module Federation from the environment: `CCMP_SITES_FILE` names the sites file.
 *
 * The file is checked against the schema, its keys are imported, and it is checked against the
 * gateway's own domains (CCMP_DOMAIN must be a local domain, and no served domain may be routed to
 * a peer). Files are read only through the injected `readFile`; paths inside the sites file are
 * relative to it. An entry without file access (Workers) can pass the parsed document instead.
 */
import type { Logger } from '../log.ts';
import type { Platform } from '../platform.ts';
import { createFederation, type Federation } from './federation.ts';
import { loadSites, parseSites, SitesError, type SitesIssue } from './sites.ts';

export interface FederationEnvDeps {
  /** The gateway's main domain (CCMP_DOMAIN) and the others it serves (CCMP_DOMAINS). */
  domain: string;
  domains: readonly string[];
  /** Default time limit of peer calls. */
  backendTimeoutMs: number;
  logger: Logger;
  platform: Platform;
  /** Reads a UTF-8 file; only the Node entry passes it. */
  readFile?: (path: string) => string;
  /** A sites document already loaded (e.g. bundled with a Workers script); CCMP_SITES_FILE wins. */
  sites?: unknown;
  /** Where `sites` came from, for error messages (e.g. `CCMP_SITES`). */
  sitesSource?: string;
  fetch?: typeof fetch;
}

/** The federation the environment asks for, or undefined when none is configured. */
export async function federationFromEnv(
  env: Record<string, string | undefined>,
  deps: FederationEnvDeps,
): Promise<Federation | undefined> {
  const path = env.CCMP_SITES_FILE?.trim();
  let doc: unknown = deps.sites;
  let file = deps.sitesSource ?? 'sites';
  const readFile = deps.readFile;
  if (path) {
    if (!readFile) throw new Error('CCMP_SITES_FILE is set, but this runtime cannot read files');
    file = path;
    let text: string;
    try {
      text = readFile(path);
    } catch (err) {
      throw new Error(
        `CCMP_SITES_FILE: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    doc = parseSites(text, path);
  }
  if (doc === undefined) return undefined;

  const config = await loadSites(doc, file, {
    env,
    defaultTimeoutMs: deps.backendTimeoutMs,
    ...(readFile ? { readFile: (p: string) => readFile(relativeTo(file, p)) } : {}),
  });
  const issues: SitesIssue[] = [];
  const domain = deps.domain.toLowerCase();
  if (!config.localDomains.includes(domain)) {
    issues.push({
      file,
      path: '$.localDomains',
      message: `must include the gateway's domain ${domain} (CCMP_DOMAIN)`,
    });
  }
  for (const served of [domain, ...deps.domains.map((d) => d.toLowerCase())]) {
    for (const peer of config.peers) {
      const at = `$.peers[${JSON.stringify(peer.site)}]`;
      if (peer.domains.includes(served)) {
        issues.push({
          file,
          path: `${at}.domains`,
          message: `${served} is served by this gateway (CCMP_DOMAIN/CCMP_DOMAINS): it cannot be routed to a peer`,
        });
      } else if (peer.userDomains.includes(served)) {
        issues.push({
          file,
          path: `${at}.userDomains`,
          message: `${served} is served by this gateway (CCMP_DOMAIN/CCMP_DOMAINS): a peer may not assert its users`,
        });
      }
    }
  }
  if (issues.length > 0) throw new SitesError(issues);
  deps.logger.log('info', 'federation.configured', {
    site: config.site,
    localDomains: config.localDomains,
    peers: config.peers.map((p) => ({
      site: p.site,
      url: p.url,
      domains: p.domains,
      kids: [...p.keys.keys()],
      merge: p.listing.merge,
    })),
    signingKid: config.signingKey.kid,
    maxHops: config.maxHops,
  });
  return createFederation(config, {
    logger: deps.logger,
    platform: deps.platform,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
}

/** A path named in the sites file, relative to the file's folder unless absolute. */
export function relativeTo(file: string, path: string): string {
  if (/^([A-Za-z]:)?[\\/]/.test(path)) return path;
  const slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return slash === -1 ? path : `${file.slice(0, slash + 1)}${path}`;
}
