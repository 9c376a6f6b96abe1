/**
 * @module Federation between sites: conferences of a peer's domains are reached through that
 * peer's gateway, with signed site-to-site trust.
 *
 * `createFederation(sites)` gives two pieces that `createGateway({ federation })` plugs in:
 * - `scheme`, an AuthScheme tried first: a request carrying a site token (`X-CCMP-Site-Token`) is
 *   authenticated as the remote user the token names, if a configured peer signed it with one of
 *   its keys, for this site, recently, once, and for a user of a domain that peer may assert.
 *   The remote user gets no system roles unless the sites file grants some.
 * - `hook`, around the operation step: after the normal pipeline has authenticated the local user,
 *   a request whose target (confObjID; else the entity of a conference to create or of a user)
 *   belongs to a peer domain is signed for and forwarded to that peer, and the peer's answer is
 *   relayed. Local conferences are never forwarded. confsRequest can merge the user's conferences
 *   at peer sites, each peer within a time budget. Loops and long chains are cut using the token's
 *   `via` claim (the sites the request went through).
 * Every forward is logged here as `federation.forward`, every request received from a peer as
 * `federation.inbound`, both with the shared request ID (`X-Request-ID`), the peer, outcome and time.
 */
import ccmpPeerConnector, { type CcmpPeerConnector } from '../../connectors/ccmp-peer.ts';
import { ConnectorError } from '../../connectors/types.ts';
import type { AuthOutcome, AuthScheme, Principal } from '../auth/types.ts';
import { ENVELOPE_NAMESPACES, type CcmpResponse } from '../ccmp/encode.ts';
import type { CcmpRequest } from '../ccmp/messages.ts';
import type { OperationHook } from '../core/dispatch.ts';
import type { Ctx } from '../core/types.ts';
import { CcmpError, toCcmpFailure } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { normalizeId, parseXconUri, parseXconUserId, sipUriFromUserId } from '../model/ids.ts';
import { randomId, webPlatform, type Platform } from '../platform.ts';
import { NS, OUTPUT_PREFIXES } from '../xml/namespaces.ts';
import { parseXml } from '../xml/parse.ts';
import { serialize } from '../xml/serialize.ts';
import { attr, child, el, isElement, text, type XElement } from '../xml/tree.ts';
import { ReplayCache } from './replay.ts';
import { MAX_TOKEN_LIFETIME_S, type PeerSite, type SitesConfig } from './sites.ts';
import { signSiteToken, verifySiteToken } from './token.ts';
import { encodeRequest, readPeerResponse } from './wire.ts';

/** The site token of a forwarded request. */
export const SITE_TOKEN_HEADER = 'X-CCMP-Site-Token';
/** How many gateway-to-gateway forwards the request has been through (informative; the token's `via` decides). */
export const HOPS_HEADER = 'X-CCMP-Hops';

export interface FederationOptions {
  logger?: Logger;
  platform?: Platform;
  /** For tests and special runtimes; default the global fetch. */
  fetch?: typeof fetch;
}

export interface Peer {
  site: PeerSite;
  connector: CcmpPeerConnector;
}

export interface Federation {
  readonly config: SitesConfig;
  /** Authentication of requests forwarded by peers: put it first in the pipeline. */
  readonly scheme: AuthScheme;
  /** Routing around the operation step (see `exchange`). */
  readonly hook: OperationHook;
  /** By site name. */
  readonly peers: ReadonlyMap<string, Peer>;
  /** The peer serving a domain, unless the domain is local. */
  peerFor(domain: string): Peer | undefined;
}

/** Where a remote principal comes from. */
interface Origin {
  site: string;
  /** Sites the request went through, the sending site last. */
  via: string[];
}

/** What a merged listing says about one peer. */
interface PeerListing {
  site: string;
  status: 'answered' | 'timeout' | 'unavailable' | 'failed';
  entries: XElement[];
  code?: number;
  ms: number;
}

export function createFederation(config: SitesConfig, options: FederationOptions = {}): Federation {
  const logger = options.logger ?? silentLogger;
  const platform = options.platform ?? webPlatform;
  const local = new Set(config.localDomains);
  const peers = new Map<string, Peer>();
  const byDomain = new Map<string, Peer>();
  for (const site of config.peers) {
    const connector = ccmpPeerConnector({
      site: site.site,
      url: site.url,
      timeoutMs: site.timeoutMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const peer = { site, connector };
    peers.set(site.site, peer);
    for (const domain of site.domains) byDomain.set(domain, peer);
  }
  const listingPeers = [...peers.values()].filter((p) => p.site.listing.merge);
  const replay = new ReplayCache(config.replayCacheSize);
  /** Principals the scheme built from site tokens; a principal object lives as long as its request. */
  const origins = new WeakMap<Principal, Origin>();

  const peerFor = (domain: string): Peer | undefined =>
    local.has(domain.toLowerCase()) ? undefined : byDomain.get(domain.toLowerCase());

  // ------------------------------------------------------------------------------------------
  // Receiving side: the site-token scheme.

  const scheme: AuthScheme = {
    name: 'site-token',
    async authenticate(request) {
      const token = request.header(SITE_TOKEN_HEADER)?.trim();
      if (token === undefined) return { status: 'absent' };
      const now = platform.now();
      const refuse = (reason: string, iss?: string, kid?: string): AuthOutcome => {
        logger.log('warn', 'federation.token_rejected', {
          requestId: request.header('x-request-id')?.slice(0, 100),
          peer: iss,
          kid,
          reason,
          client: request.clientAddress,
        });
        return { status: 'rejected', scheme: 'site-token', reason: `site token refused: ${reason}` };
      };
      const result = await verifySiteToken(token, {
        audience: config.site,
        keyFor: (iss, kid) => peers.get(iss)?.site.keys.get(kid),
        now,
        maxLifetimeS: MAX_TOKEN_LIFETIME_S,
        clockSkewS: config.clockSkewSeconds,
      });
      if (!result.ok) return refuse(result.reason, result.iss, result.kid);
      const { claims, kid } = result;
      const peer = peers.get(claims.iss);
      if (!peer) return refuse(`${claims.iss} is not a peer site`, claims.iss, kid);
      const userId = normalizeId(claims.sub);
      const host = parseXconUserId(userId)?.host;
      if (!host || !/^xcon-userid:[^@\s]+@[^@\s]+$/.test(userId)) {
        return refuse('the subject is not an XCON-USERID user@domain', claims.iss, kid);
      }
      if (local.has(host) || !peer.site.userDomains.includes(host)) {
        return refuse(`${claims.iss} may not assert users of ${host}`, claims.iss, kid);
      }
      const via = claims.via.length > 0 ? claims.via : [claims.iss];
      if (via.at(-1) !== claims.iss)
        return refuse('the via claim does not end with the issuer', claims.iss, kid);
      const hops = request.header(HOPS_HEADER);
      if (hops !== undefined && hops.trim() !== String(via.length)) {
        return refuse(`${HOPS_HEADER} does not match the token`, claims.iss, kid);
      }
      // Last, so that tokens refused for other reasons never take room in the cache.
      const verdict = replay.remember(
        `${claims.iss}|${claims.jti}`,
        (claims.exp + config.clockSkewSeconds) * 1000,
        now,
      );
      if (verdict === 'replay') return refuse('the token was already used (replay)', claims.iss, kid);
      if (verdict === 'full') return refuse('too many site tokens in flight', claims.iss, kid);

      const principal: Principal = {
        userId,
        // The whole address: a remote "alice" must never share throttling or names with a local one.
        username: userId.slice('xcon-userid:'.length),
        systemRoles: [...(peer.site.systemRoles.get(userId) ?? [])],
      };
      const sipUri = sipUriFromUserId(userId);
      if (sipUri !== undefined) principal.sipUri = sipUri;
      if (claims.name !== undefined) principal.displayName = claims.name.slice(0, 256);
      origins.set(principal, { site: claims.iss, via });
      return { status: 'authenticated', principal, scheme: 'site-token' };
    },
  };

  // ------------------------------------------------------------------------------------------
  // Sending side.

  async function siteToken(ctx: Ctx, peer: Peer, via: string[]): Promise<string> {
    const iat = Math.floor(platform.now() / 1000);
    return signSiteToken(config.signingKey, {
      iss: config.site,
      sub: ctx.principal.userId,
      aud: peer.site.site,
      jti: randomId(platform, 128),
      iat,
      exp: iat + config.tokenTtlSeconds,
      via,
      ...(ctx.principal.displayName ? { name: ctx.principal.displayName } : {}),
    });
  }

  function checkPath(via: string[], next: string): void {
    if (via.includes(next) || next === config.site) {
      throw new CcmpError(
        500,
        `forwarding loop: the request already went through ${next} (${[...via, config.site, next].join(' > ')})`,
      );
    }
    if (via.length + 1 > config.maxHops) {
      throw new CcmpError(
        500,
        `forwarding chain too long: ${config.site} may not forward a request that came through ${via.join(' > ')} (at most ${config.maxHops} hop${config.maxHops === 1 ? '' : 's'})`,
      );
    }
  }

  async function send(ctx: Ctx, peer: Peer, via: string[], timeoutMs?: number) {
    const path = [...via, config.site];
    const headers: Record<string, string> = {
      [SITE_TOKEN_HEADER]: await siteToken(ctx, peer, path),
      [HOPS_HEADER]: String(path.length),
      'X-Request-ID': ctx.requestId,
    };
    if (ctx.ifMatch !== undefined) headers['If-Match'] = `"${ctx.ifMatch}"`;
    const answer = await peer.connector.send({
      body: encodeRequest(ctx.request),
      headers,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    return readPeerResponse(answer.body, peer.connector.name, peer.site.site);
  }

  async function forward(ctx: Ctx, peer: Peer, origin: Origin | undefined): Promise<CcmpResponse> {
    const via = origin?.via ?? [];
    checkPath(via, peer.site.site);
    const started = platform.now();
    try {
      const { response } = await send(ctx, peer, via);
      logForward(ctx, peer, response.code, started);
      return response;
    } catch (err) {
      logForward(ctx, peer, outcomeOf(err), started, err);
      throw err;
    }
  }

  function logForward(ctx: Ctx, peer: Peer, outcome: number | string, started: number, err?: unknown): void {
    logger.log(err === undefined ? 'info' : 'warn', 'federation.forward', {
      requestId: ctx.requestId,
      peer: peer.site.site,
      user: ctx.userId,
      message: ctx.request.type,
      operation: ctx.request.operation,
      outcome,
      ms: platform.now() - started,
      ...(err instanceof Error ? { error: err.message } : {}),
    });
  }

  // ------------------------------------------------------------------------------------------
  // Merged listing.

  async function listAt(ctx: Ctx, peer: Peer): Promise<PeerListing> {
    const started = platform.now();
    const done = (status: PeerListing['status'], extra: Partial<PeerListing> = {}): PeerListing => ({
      site: peer.site.site,
      status,
      entries: [],
      ms: platform.now() - started,
      ...extra,
    });
    try {
      const { response, payload } = await send(ctx, peer, [], peer.site.listing.budgetMs);
      logForward(ctx, peer, response.code, started);
      if (response.code !== 200) return done('failed', { code: response.code });
      const info = payload.find((e) => e.ns === '' && e.name === 'confsInfo');
      // A peer lists conferences of its own domains only.
      const entries = (info ? info.children.filter(isElement) : []).filter((e) => {
        if (e.ns !== NS.info || e.name !== 'entry') return false;
        const host = parseXconUri(text(child(e, NS.info, 'uri')))?.host;
        return host !== undefined && peer.site.domains.includes(host);
      });
      return done('answered', { entries });
    } catch (err) {
      logForward(ctx, peer, outcomeOf(err), started, err);
      if (err instanceof ConnectorError && err.kind === 'timeout') return done('timeout');
      if (err instanceof ConnectorError) return done('unavailable');
      return done('failed');
    }
  }

  async function mergedListing(ctx: Ctx, next: () => Promise<CcmpResponse>): Promise<CcmpResponse> {
    // The peers are asked while the local list is built; listAt never rejects.
    const asked = listingPeers.map((p) => listAt(ctx, p));
    const localResponse = await next();
    const listings = await Promise.all(asked);
    if (localResponse.code !== 200) return localResponse;
    return mergeListing(ctx, localResponse, listings);
  }

  // ------------------------------------------------------------------------------------------
  // The hook.

  async function route(ctx: Ctx, next: () => Promise<CcmpResponse>, origin?: Origin): Promise<CcmpResponse> {
    const domain = routingDomain(ctx.request);
    const peer = domain === undefined || ctx.deps.config.domains.has(domain) ? undefined : peerFor(domain);
    if (peer) return forward(ctx, peer, origin);
    if (ctx.request.type === 'confs' && origin === undefined && listingPeers.length > 0) {
      return mergedListing(ctx, next);
    }
    return next();
  }

  const hook: OperationHook = async (ctx, next) => {
    const origin = origins.get(ctx.principal);
    if (!origin) return route(ctx, next);
    const started = platform.now();
    let outcome: number | undefined;
    try {
      if (origin.via.includes(config.site)) {
        throw new CcmpError(500, `forwarding loop: the request already went through ${config.site}`);
      }
      if (origin.via.length > config.maxHops) {
        throw new CcmpError(500, `forwarding chain too long: more than ${config.maxHops} gateway hops`);
      }
      const response = await route(ctx, next, origin);
      outcome = response.code;
      return response;
    } catch (err) {
      outcome = toCcmpFailure(err).code;
      throw err;
    } finally {
      logger.log('info', 'federation.inbound', {
        requestId: ctx.requestId,
        peer: origin.site,
        via: origin.via,
        user: ctx.userId,
        message: ctx.request.type,
        operation: ctx.request.operation,
        outcome,
        ms: platform.now() - started,
      });
    }
  };

  return { config, scheme, hook, peers, peerFor };
}

/**
 * The domain a request is routed by: its confObjID; without one, the entity of the conference a
 * confRequest creates (`xcon:AUTO_GENERATE_1@b.example`) or of the user a userRequest names.
 * Lists (blueprints, confs) and options have no target and are answered here.
 */
export function routingDomain(request: CcmpRequest): string | undefined {
  if (request.type === 'options' || request.type === 'blueprints' || request.type === 'confs')
    return undefined;
  if (request.confObjID !== undefined) return parseXconUri(request.confObjID)?.host;
  const entity = request.info ? attr(request.info, 'entity')?.trim() : undefined;
  if (!entity) return undefined;
  if (request.type === 'conf' && request.operation === 'create') return parseXconUri(entity)?.host;
  if (request.type === 'user') return parseXconUserId(entity)?.host;
  return undefined;
}

function outcomeOf(err: unknown): string {
  if (err instanceof ConnectorError) return err.kind;
  if (err instanceof CcmpError) return String(err.code);
  return 'error';
}

/**
 * The local confsResponse with the peers' entries added (duplicates dropped, within the list
 * limit), and a `gw:federation` element after confsInfo (the `##other` slot of confsResponseType)
 * saying how each peer answered. When some did not, the response-string says so too.
 */
function mergeListing(ctx: Ctx, local: CcmpResponse, listings: PeerListing[]): CcmpResponse {
  const declarations = [...ENVELOPE_NAMESPACES]
    .map((ns) => `xmlns:${OUTPUT_PREFIXES.get(ns) ?? ''}="${ns}"`)
    .join(' ');
  const wrapper = parseXml(`<w ${declarations}>${local.body ?? ''}</w>`);
  const parts = wrapper.children.filter(isElement);
  const localInfo = parts.find((e) => e.ns === '' && e.name === 'confsInfo');
  const rest = parts.filter((e) => e !== localInfo);

  const limit = ctx.deps.config.limits.maxListEntries;
  const seen = new Set<string>();
  const entries: XElement[] = [];
  const add = (entry: XElement) => {
    const key = normalizeId(text(child(entry, NS.info, 'uri')));
    if (seen.has(key) || entries.length >= limit) return;
    seen.add(key);
    entries.push(entry);
  };
  for (const e of localInfo ? localInfo.children.filter(isElement) : []) add(e);
  for (const listing of listings) for (const e of listing.entries) add(e);

  const report = el(
    NS.gateway,
    'federation',
    {},
    listings.map((l) =>
      el(NS.gateway, 'site', {
        name: l.site,
        status: l.status,
        ...(l.status === 'answered' ? { entries: String(l.entries.length) } : {}),
        ...(l.code !== undefined ? { code: String(l.code) } : {}),
        ms: String(Math.round(l.ms)),
      }),
    ),
  );
  const out = (e: XElement) => serialize(e, { declared: ENVELOPE_NAMESPACES });
  const body =
    (entries.length > 0 ? `<confsInfo>${entries.map(out).join('')}</confsInfo>` : '') +
    rest.map(out).join('') +
    out(report);
  const missing = listings.filter((l) => l.status !== 'answered');
  const merged: CcmpResponse = { ...local, body };
  if (missing.length > 0) {
    merged.responseString =
      `${local.responseString ?? 'success'}; without the conferences of ` +
      missing
        .map((l) => `${l.site} (${l.status === 'failed' && l.code ? `code ${l.code}` : l.status})`)
        .join(', ');
  }
  return merged;
}
