/**
 * @module Three federated gateways (a.example, b.example, c.example) served over real HTTP on
 * 127.0.0.1, each with its own memory store, demo directory (alice, bob, carol of its domain),
 * mock connector, logger, signing key and sites configuration.
 *
 * The servers are started first (port 0) so that every site's configuration can name the others'
 * URLs; the gateways are then built and put behind them. Each server can be slowed down or stopped
 * by a test. Every CCMP response read through `ccmp()` is validated against the schemas.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import mockConnector from '../../connectors/mock.ts';
import { demoDirectory } from '../../src/auth/demo-directory.ts';
import { createFederation, type Federation } from '../../src/federation/federation.ts';
import { loadSites, type SitesDocument } from '../../src/federation/sites.ts';
import { importSiteKey, type SiteKey } from '../../src/federation/token.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { memoryLogger } from '../../src/log.ts';
import { memoryStore } from '../../src/store/memory.ts';
import type { ConferenceStore } from '../../src/store/types.ts';
import { basic, envelope, readReply, type Reply, type RequestSpec } from '../e2e/_harness.ts';

export const SITES = ['a.example', 'b.example', 'c.example'] as const;
export type SiteName = (typeof SITES)[number];

export interface KeyPair {
  kid: string;
  publicPem: string;
  privatePem: string;
}

export function ecKeyPair(kid: string): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { kid, publicPem: publicKey, privatePem: privateKey };
}

export function rsaKeyPair(kid: string, modulusLength = 2048): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { kid, publicPem: publicKey, privatePem: privateKey };
}

export interface Site {
  name: SiteName;
  url: string;
  app: Gateway;
  store: ConferenceStore;
  logger: ReturnType<typeof memoryLogger>;
  federation: Federation;
  key: KeyPair;
  /** The key this site signs with, imported (tests sign tokens of their own with it). */
  signingKey: SiteKey;
  /** Every request waits this long before the gateway sees it. */
  delayMs: number;
  /** Closes the server and every open connection: the port then refuses connections. */
  stop(): Promise<void>;
  stopped: boolean;
}

export interface Federated {
  sites: Record<SiteName, Site>;
  close(): Promise<void>;
}

/** Lets each test shape the sites files; `base` is the default configuration of `site`. */
export type Customize = (site: SiteName, base: SitesDocument) => SitesDocument;

const LENIENT_THROTTLE = { freeFailures: 1_000, lockoutFailures: 10_000 };

export async function startSites(customize: Customize = (_s, base) => base): Promise<Federated> {
  const keys: Record<SiteName, KeyPair> = {
    'a.example': ecKeyPair('a-2025-01'),
    // b.example signs with RSA, to cover RS256 too.
    'b.example': rsaKeyPair('b-2025-01'),
    'c.example': ecKeyPair('c-2025-01'),
  };
  const handlers = new Map<SiteName, (req: Request, env: unknown) => Response | Promise<Response>>();
  const servers = await Promise.all(
    SITES.map(async (name) => {
      const state = { delayMs: 0 };
      const server = serve({
        hostname: '127.0.0.1',
        port: 0,
        fetch: async (req, env) => {
          if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
          const handler = handlers.get(name);
          if (!handler) return new Response('starting', { status: 503 });
          return handler(req, env);
        },
      });
      await new Promise<void>((resolve) => {
        if (server.listening) resolve();
        else server.once('listening', () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      return { name, server, state, url: `http://127.0.0.1:${port}/ccmp` };
    }),
  );
  const urlOf = (name: SiteName) => servers.find((s) => s.name === name)!.url;

  const sites = {} as Record<SiteName, Site>;
  for (const entry of servers) {
    const name = entry.name;
    const base: SitesDocument = {
      site: name,
      localDomains: [name],
      signingKey: {
        kid: keys[name].kid,
        alg: name === 'b.example' ? 'RS256' : 'ES256',
        privateKey: { env: 'SITE_KEY' },
      },
      peers: Object.fromEntries(
        SITES.filter((p) => p !== name).map((p) => [
          p,
          {
            url: urlOf(p),
            domains: [p],
            keys: [{ kid: keys[p].kid, alg: p === 'b.example' ? 'RS256' : 'ES256', pem: keys[p].publicPem }],
            timeoutMs: 2_000,
          },
        ]),
      ),
    };
    const doc = customize(name, base);
    const config = await loadSites(doc, `sites.${name}.json`, { env: { SITE_KEY: keys[name].privatePem } });
    const logger = memoryLogger();
    const federation = createFederation(config, { logger });
    const store = memoryStore();
    const app = createGateway({
      store,
      directory: demoDirectory(name),
      connectors: [mockConnector({ focusUri: `sip:conference-focus@${name}` })],
      logger,
      config: { domain: name },
      authThrottle: LENIENT_THROTTLE,
      federation,
    });
    await app.ready;
    handlers.set(name, (req, env) => app.fetch(req, env));
    const site: Site = {
      name,
      url: entry.url,
      app,
      store,
      logger,
      federation,
      key: keys[name],
      signingKey: await importSiteKey(
        keys[name].kid,
        doc.signingKey.alg,
        { pem: keys[name].privatePem },
        'sign',
      ),
      get delayMs() {
        return entry.state.delayMs;
      },
      set delayMs(ms: number) {
        entry.state.delayMs = ms;
      },
      stopped: false,
      async stop() {
        if (site.stopped) return;
        site.stopped = true;
        await new Promise<void>((resolve) => {
          entry.server.close(() => resolve());
          (entry.server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      },
    };
    sites[name] = site;
  }
  return {
    sites,
    async close() {
      for (const s of Object.values(sites)) await s.stop();
    },
  };
}

export const userOf = (login: string, site: SiteName) => `xcon-userid:${login}@${site}`;

export interface Sent {
  status: number;
  headers: Headers;
  body: string;
  ms: number;
}

/** POSTs a CCMP body to a site over HTTP. */
export async function post(site: Site, body: string, headers: Record<string, string> = {}): Promise<Sent> {
  const started = performance.now();
  const res = await fetch(site.url, {
    method: 'POST',
    headers: { 'content-type': 'application/ccmp+xml', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text, ms: performance.now() - started };
}

/** Sends a CCMP request to a site as one of its users (HTTP Basic, password = login). */
export async function ccmp(
  site: Site,
  login: string,
  spec: RequestSpec,
  headers: Record<string, string> = {},
): Promise<Reply & { ms: number }> {
  const confUserID = spec.confUserID === undefined ? userOf(login, site.name) : spec.confUserID;
  const sent = await post(site, envelope({ ...spec, confUserID }), {
    authorization: basic(login),
    ...headers,
  });
  if (sent.status !== 200) throw new Error(`HTTP ${sent.status} instead of 200: ${sent.body}`);
  return { ...readReply(sent.body, sent.headers), ms: sent.ms };
}
