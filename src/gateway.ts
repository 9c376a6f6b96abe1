/**
 * @module The composition root: `createGateway({ store, directory, connectors, ... })` returns the
 * Hono app. The Node and Workers entries are thin shells that build the adapters and call it.
 *
 * HTTP binding (RFC 6503 §9): `POST /ccmp` carries one CCMP request; every CCMP answer, errors
 * included, travels in HTTP 200. HTTP errors are kept for requests with no CCMP message to answer.
 */
import { Hono, type Context } from 'hono';
import type { Connector } from '../connectors/types.ts';
import { basicScheme, subjectScheme } from './auth/basic.ts';
import { createAuthenticator, type Authenticator } from './auth/authenticate.ts';
import { FailureThrottle, type ThrottleOptions } from './auth/throttle.ts';
import type { AuthScheme, Directory } from './auth/types.ts';
import { exchange, type OperationHook } from './core/dispatch.ts';
import type { Extension } from './core/extensions.ts';
import type { CoreConfig, Deps, Limits } from './core/types.ts';
import { HttpError } from './errors.ts';
import { consoleLogger, type Logger } from './log.ts';
import { seedBlueprints } from './model/seed.ts';
import { webPlatform, type Platform } from './platform.ts';
import type { ConferenceStore } from './store/types.ts';
import { KeyedMutex } from './util/keyed-mutex.ts';

export interface GatewayOptions {
  store: ConferenceStore;
  directory: Directory;
  /** Conferencing backends; the first is the default for new conferences. */
  connectors: Connector[];
  /** Identity and routing rules loaded from `mappings/` (used by directories and federation). */
  mappings?: unknown;
  config?: Partial<Omit<CoreConfig, 'limits'>> & { limits?: Partial<Limits>; maxBodyBytes?: number };
  /** Authentication schemes, tried in order; default HTTP Basic then `<subject>`, both against the directory. */
  schemes?: AuthScheme[];
  authThrottle?: Partial<ThrottleOptions>;
  extensions?: Extension[];
  platform?: Platform;
  logger?: Logger;
  /** The client's address, for throttling; default: the socket's peer address when the runtime gives it. */
  clientAddress?: (c: Context) => string;
  /**
   * Site-to-site federation (`createFederation` in src/federation): its scheme is tried before the
   * others, and its hook routes requests for peer sites' conferences around the operation step.
   */
  federation?: { scheme: AuthScheme; hook: OperationHook };
}

export const DEFAULT_LIMITS: Limits = {
  maxConferences: 1_000_000,
  maxConferencesPerUser: 10_000,
  maxUsersPerConference: 1_000,
  maxSidebarsPerConference: 100,
  maxListEntries: 10_000,
};

const CCMP_TYPES = new Set(['application/ccmp+xml', 'application/xml', 'text/xml']);
const CCMP_CONTENT_TYPE = 'application/ccmp+xml; charset=utf-8';

export type Gateway = Hono & { ready: Promise<void>; deps: Deps; authenticator: Authenticator };

export function createGateway(options: GatewayOptions): Gateway {
  const platform = options.platform ?? webPlatform;
  const logger = options.logger ?? consoleLogger();
  const domain = (options.config?.domain ?? 'example.com').toLowerCase();
  const [defaultConnector] = options.connectors;
  if (!defaultConnector) throw new Error('createGateway: at least one connector is required');
  const config: CoreConfig = {
    domain,
    domains: new Set([domain, ...[...(options.config?.domains ?? [])].map((d) => d.toLowerCase())]),
    backendTimeoutMs: options.config?.backendTimeoutMs ?? 10_000,
    limits: { ...DEFAULT_LIMITS, ...options.config?.limits },
    passwordThrottle: options.config?.passwordThrottle ?? {},
  };
  const maxBodyBytes = options.config?.maxBodyBytes ?? 1024 * 1024;
  const deps: Deps = {
    config,
    store: options.store,
    directory: options.directory,
    connectors: new Map(options.connectors.map((c) => [c.name, c])),
    defaultConnector,
    extensions: new Map((options.extensions ?? []).map((e) => [e.name, e])),
    platform,
    logger,
    mutex: new KeyedMutex(),
    passwordThrottle: new FailureThrottle(
      { freeFailures: 2, lockoutFailures: 5, ...config.passwordThrottle },
      () => platform.now(),
    ),
  };
  const authenticator = createAuthenticator({
    schemes: [
      ...(options.federation ? [options.federation.scheme] : []),
      ...(options.schemes ?? [basicScheme(options.directory, domain), subjectScheme(options.directory)]),
    ],
    throttle: new FailureThrottle(options.authThrottle ?? {}, () => platform.now()),
    logger,
  });
  const clientAddress = options.clientAddress ?? defaultClientAddress;

  const ready = seedBlueprints(deps);
  ready.catch((err: unknown) => {
    logger.log('error', 'gateway.seed_failed', { error: err instanceof Error ? err.message : String(err) });
  });

  const app = new Hono() as Gateway;
  app.ready = ready;
  app.deps = deps;
  app.authenticator = authenticator;

  app.get('/health', async (c) => {
    try {
      await ready;
      return c.json({ status: 'ok' }, 200, { 'Cache-Control': 'no-store' });
    } catch {
      return c.json({ status: 'starting' }, 503, { 'Cache-Control': 'no-store' });
    }
  });

  const handle = async (c: Context, pathUserId?: string) => {
    const requestId = c.req.header('x-request-id')?.slice(0, 100) ?? crypto.randomUUID();
    const started = platform.now();
    checkContentType(c.req.header('content-type'));
    const body = await readBody(c, maxBodyBytes);
    const ifMatch = parseIfMatch(c.req.header('if-match'));
    await ready;
    const url = new URL(c.req.url);
    const result = await exchange(
      deps,
      authenticator,
      {
        body,
        requestId,
        ...(ifMatch !== undefined ? { ifMatch } : {}),
        ...(pathUserId !== undefined ? { pathUserId } : {}),
        auth: {
          method: c.req.method,
          url: url.pathname + url.search,
          header: (name) => c.req.header(name),
          clientAddress: clientAddress(c),
        },
      },
      options.federation?.hook,
    );
    const { response } = result;
    logger.log('debug', 'ccmp.request', {
      requestId,
      message: response.type,
      operation: response.operation,
      code: response.code,
      ms: platform.now() - started,
    });
    const headers: Record<string, string> = {
      'Content-Type': CCMP_CONTENT_TYPE,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Request-ID': requestId,
    };
    if (response.version !== undefined) headers.ETag = `"${response.version}"`;
    return c.body(result.xml, 200, headers);
  };

  app.post('/ccmp', (c) => handle(c));
  app.all('/ccmp', () => {
    throw new HttpError(405, 'CCMP requests are sent with POST', [['Allow', 'POST']]);
  });
  // Belledonne's REST-style binding: the request is sent to /<XCON-USERID> with PUT or POST.
  // Hono's param() is already percent-decoded (leaving malformed escapes as they are): decoding it again
  // would read "%2540" as "@" and throw (HTTP 500) on a literal "%".
  app.on(['PUT', 'POST'], '/:user{xcon-userid:[^/]+}', (c) => handle(c, c.req.param('user')));
  app.all('/:user{xcon-userid:[^/]+}', () => {
    throw new HttpError(405, 'CCMP requests are sent with PUT or POST', [['Allow', 'PUT, POST']]);
  });

  app.notFound((c) =>
    c.text('not found: CCMP requests go to POST /ccmp', 404, { 'Cache-Control': 'no-store' }),
  );
  app.onError((err, c) => {
    if (err instanceof HttpError) {
      const res = c.text(err.message, err.status, { 'Cache-Control': 'no-store' });
      for (const [name, value] of err.headers) res.headers.append(name, value);
      return res;
    }
    logger.log('error', 'http.internal_error', { error: err.stack ?? err.message });
    return c.text('internal error', 500, { 'Cache-Control': 'no-store' });
  });
  return app;
}

function checkContentType(header: string | undefined): void {
  if (!header) throw new HttpError(415, 'Content-Type is required: application/ccmp+xml');
  const [type, ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (!type || !CCMP_TYPES.has(type)) {
    throw new HttpError(415, `Content-Type ${type ?? ''} is not accepted: send application/ccmp+xml`);
  }
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice(8)
    .replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, `charset ${charset} is not accepted: CCMP bodies are UTF-8`);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new HttpError(400, 'the body is not valid UTF-8');
  }
}

/** The request body as UTF-8 text, refused above `max` bytes (exported for the bench's parser floors). */
export async function readBody(c: Context, max: number): Promise<string> {
  const request = c.req.raw;
  const lengthHeader = request.headers.get('content-length');
  const declared = lengthHeader === null ? NaN : Number(lengthHeader);
  if (declared > max) throw new HttpError(413, `the body is larger than ${max} bytes`);
  // With a declared length the adapter's buffered read is cheapest; the stream below is for
  // bodies of unknown length, cut off as soon as they pass the limit.
  if (Number.isFinite(declared)) {
    const buffer = await c.req.arrayBuffer();
    if (buffer.byteLength > max) throw new HttpError(413, `the body is larger than ${max} bytes`);
    return decodeUtf8(new Uint8Array(buffer));
  }
  if (!request.body) throw new HttpError(400, 'the request has no body');
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new HttpError(413, `the body is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return decodeUtf8(bytes);
}

function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?([0-9]{1,15})"?\s*$/.exec(header);
  if (!m?.[1]) throw new HttpError(400, 'If-Match must name a version, e.g. "3"');
  return Number(m[1]);
}

function defaultClientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? c.req.header('cf-connecting-ip') ?? 'unknown';
}
