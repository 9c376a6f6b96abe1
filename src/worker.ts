/**
 * @module Cloudflare Workers entry: the same `createGateway` as on Node, built from the Worker's bindings.
 *
 * Settings come from `[vars]` in wrangler.toml and from secrets (keys, passwords), read by the same
 * `readSettings` and `identityFromEnv` as on Node. The gateway is built on the first request of an
 * isolate and kept for the next ones, with its caches and throttles; nothing is created at global scope
 * (Workers forbid timers and I/O there). A bad setting answers every request with HTTP 500
 * `configuration error: …` naming the setting, and is logged once.
 *
 * Only edge-capable pieces are imported, so the bundle holds no Node-only driver: conferences live in D1
 * (binding `DB`), connectors come from the static table below (the mock today), and the identity
 * mappings are the JSON file imported here, chosen at build time (see docs/edge.md).
 */
import type { ExecutionContext } from 'hono';
import bundledMappings from '../mappings/openldap-inetorgperson.json' with { type: 'json' };
import mockConnector from '../connectors/mock.ts';
import type { Connector } from '../connectors/types.ts';
import { identityFromEnv } from './auth/from-env.ts';
import {
  ConfigError,
  oneOf,
  readSettings,
  type Env,
  type GatewaySettings,
  coreConfig,
  backendSyncOptions,
} from './config.ts';
import { configureBackendSync } from './core/backend-sync.ts';
import { federationFromEnv } from './federation/from-env.ts';
import { parseSites } from './federation/sites.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { consoleLogger, type Logger } from './log.ts';
import { webPlatform } from './platform.ts';
import { d1Store, isD1Database } from './store/d1.ts';

/** The Worker's `env`: the D1 database `DB`, and the vars and secrets as strings. */
export type WorkerBindings = object;

export interface WorkerHandler {
  fetch(request: Request, env: WorkerBindings, ctx?: ExecutionContext): Promise<Response>;
}

export interface WorkerOptions {
  /** Identity mappings; default: the JSON file bundled with the Worker. */
  mappings?: unknown;
  /** Default: JSON lines on the console at LOG_LEVEL. */
  logger?: (settings: GatewaySettings | undefined) => Logger;
}

/** The D1 binding's name in wrangler.toml (`[[d1_databases]] binding = "DB"`). */
const D1_BINDING = 'DB';

type State = { gateway: Promise<Gateway> };

/**
 * A Worker handler with its own gateway. The default export is one per isolate; tests make several to
 * play separate isolates sharing one D1 database.
 */
export function createWorker(options: WorkerOptions = {}): WorkerHandler {
  let state: State | undefined;
  const mappings = options.mappings ?? bundledMappings;
  const loggerFor = options.logger ?? ((settings) => consoleLogger(settings?.logLevel ?? 'info'));

  function start(env: WorkerBindings, ctx: ExecutionContext | undefined): State {
    const gateway = build(env, mappings, loggerFor).then((built) => {
      // A failed start (D1 unreachable while seeding) must not stick to the isolate: the next request
      // builds again. waitUntil keeps the seeding going if the client that triggered it goes away.
      const ready = built.ready.catch(() => {
        if (state?.gateway === gateway) state = undefined;
      });
      ctx?.waitUntil(ready);
      return built;
    });
    gateway.catch((err: unknown) => {
      loggerFor(undefined).log('error', 'gateway.configuration_error', {
        error:
          err instanceof ConfigError
            ? err.message
            : err instanceof Error
              ? (err.stack ?? err.message)
              : String(err),
      });
    });
    // The bindings of an isolate never change (a new deployment gets new isolates): a configuration
    // error is kept and answered to every request.
    return { gateway };
  }

  return {
    async fetch(request, env, ctx) {
      state ??= start(env, ctx);
      let gateway: Gateway;
      try {
        gateway = await state.gateway;
      } catch (err) {
        const error =
          err instanceof ConfigError ? err.message : 'the gateway could not start (see the error log)';
        return new Response(`configuration error: ${error}\n`, {
          status: 500,
          headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
        });
      }
      return gateway.fetch(request, env, ctx);
    },
  };
}

async function build(
  bindings: WorkerBindings,
  mappings: unknown,
  loggerFor: (settings: GatewaySettings | undefined) => Logger,
): Promise<Gateway> {
  const env = stringBindings(bindings);
  const settings = readSettings(env);
  const logger = loggerFor(settings);
  oneOf(env, 'CCMP_STORE', ['d1'], 'd1');
  const db = (bindings as Record<string, unknown>)[D1_BINDING];
  if (!isD1Database(db)) {
    throw new ConfigError(
      `the D1 binding ${D1_BINDING} is missing: add [[d1_databases]] with binding = "${D1_BINDING}" to wrangler.toml`,
    );
  }
  const connectors = edgeConnectors(settings);
  const identity = edgeIdentity(env, settings, mappings, logger);
  logger.log('info', 'identity.configured', { summary: identity.describe() });
  const federation = await edgeFederation(env, settings, logger);

  const app = createGateway({
    ...(federation ? { federation } : {}),
    store: d1Store({ db }),
    directory: identity.directory,
    schemes: identity.schemes,
    authThrottle: identity.throttle,
    connectors,
    logger,
    platform: webPlatform,
    config: coreConfig(settings),
  });
  configureBackendSync(app.deps, backendSyncOptions(settings));
  return app;
}

/** The connectors that run on Workers. Backends with Node-only drivers are never imported here. */
function edgeConnectors(settings: GatewaySettings): Connector[] {
  const focusUri = settings.focusUris[0] ?? `sip:conference-focus@${settings.domain}`;
  switch (settings.connector) {
    case 'mock':
      // Each isolate has its own mock backend: it adopts conferences another isolate created.
      return [mockConnector({ focusUri, adoptUnknown: true })];
    case 'flexisip':
      throw new ConfigError(
        'CCMP_CONNECTOR=flexisip is not available on Cloudflare Workers: its database drivers need Node. ' +
          'Run the Node entry for Flexisip, or use CCMP_CONNECTOR=mock here',
      );
    default:
      throw new ConfigError(`CCMP_CONNECTOR must be mock on Cloudflare Workers, not "${settings.connector}"`);
  }
}

function edgeIdentity(env: Env, settings: GatewaySettings, mappings: unknown, logger: Logger) {
  const reuse = env.LDAP_REUSE_CONNECTIONS?.trim().toLowerCase();
  if (reuse !== undefined && reuse !== '' && !['false', '0', 'no', 'off'].includes(reuse)) {
    throw new ConfigError(
      'LDAP_REUSE_CONNECTIONS must be false on Cloudflare Workers: a connection cannot outlive its request',
    );
  }
  if ((env.LDAP_CA ?? '').trim() !== '' || (env.LDAP_CA_FILE ?? '').trim() !== '') {
    throw new ConfigError(
      'LDAP_CA is not supported on Cloudflare Workers: workerd ignores a private CA. ' +
        'Give the directory a publicly trusted certificate (ldaps://), or reach it through a tunnel',
    );
  }
  let identity;
  try {
    identity = identityFromEnv(
      { ...env, LDAP_REUSE_CONNECTIONS: 'false' },
      { domain: settings.domain, domains: settings.domains, platform: webPlatform, logger, mappings },
    );
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  // A nonce issued by one isolate is checked by whichever isolate gets the answer: they must share a key.
  if (
    identity.schemes.some((scheme) => scheme.name === 'digest') &&
    (env.DIGEST_NONCE_SECRET ?? '').trim() === ''
  ) {
    throw new ConfigError(
      'DIGEST_NONCE_SECRET must be set on Cloudflare Workers when Digest is enabled ' +
        '(a secret of at least 32 characters): the isolates answering one client must share it',
    );
  }
  if (identity.demo) {
    if (oneOf(env, 'CCMP_ALLOW_DEMO_DIRECTORY', ['true', 'false'], 'false') !== 'true') {
      throw new ConfigError(
        'CCMP_DIRECTORY is demo (alice/alice, bob/bob, carol/carol), which is refused on the edge: ' +
          'set CCMP_DIRECTORY=ldap, or CCMP_ALLOW_DEMO_DIRECTORY=true to try the gateway out',
      );
    }
    logger.log('warn', 'gateway.demo_directory', {
      message: 'demo credentials are active (alice/alice, bob/bob, carol/carol): never expose this Worker',
    });
  }
  return identity;
}

/**
 * Federation on the edge: the sites document comes from the `CCMP_SITES` var (JSON), keys inline
 * (`pem`/`jwk`) or from secrets (`privateKey.env`), since a Worker has no files.
 */
async function edgeFederation(env: Env, settings: GatewaySettings, logger: Logger) {
  if ((env.CCMP_SITES_FILE ?? '').trim() !== '') {
    throw new ConfigError(
      'CCMP_SITES_FILE cannot be read on Cloudflare Workers: put the sites document in CCMP_SITES',
    );
  }
  const text = env.CCMP_SITES?.trim();
  try {
    return await federationFromEnv(env, {
      domain: settings.domain,
      domains: settings.domains,
      backendTimeoutMs: settings.backendTimeoutMs,
      logger,
      platform: webPlatform,
      ...(text ? { sites: parseSites(text, 'CCMP_SITES'), sitesSource: 'CCMP_SITES' } : {}),
    });
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** The vars and secrets: every binding whose value is a string. */
function stringBindings(bindings: WorkerBindings): Env {
  const env: Env = {};
  for (const [name, value] of Object.entries(bindings)) if (typeof value === 'string') env[name] = value;
  return env;
}

export default createWorker();
