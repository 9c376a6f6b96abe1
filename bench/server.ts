/**
 * @module The server side of `npm run bench`, run in its own process by bench/run.ts.
 *
 *   node --import tsx bench/server.ts --mode hello|floor|gateway --data-dir DIR
 *                                     [--directory demo|ldap] [--profile-dir DIR]
 *
 * It serves a Hono hello-world, the parser floors, or the gateway (SQLite store in DIR, mock
 * connector, silent logger) on @hono/node-server, and a small control server on another port.
 * The floors read a CCMP request as the gateway does and only parse it, answering a fixed text:
 *
 *   POST /parse    fast-xml-parser's XMLParser with the gateway's settings, nothing else
 *   POST /checked  the gateway's whole XML step (src/xml/parse.ts: refusals, XMLValidator, XMLParser,
 *                  namespaces), as every request goes through it before any CCMP work
 * The gateway's directory
 * is the demo directory, or with `--directory ldap` the LDAP directory that `identityFromEnv` builds,
 * with its caches, from the settings in the BENCH_IDENTITY_ENV environment variable (a JSON object of
 * CCMP_DIRECTORY, LDAP_URL, …; the rest of the environment is not read).
 *
 *   GET  /cpu            process.cpuUsage() and memory of this process
 *   GET  /ldap           the LDAP directory's operation counters (`ldapStats()`), with --directory ldap
 *   POST /seed           {"total": N}: clones a conference of bob's until N conferences are stored
 *   GET  /plan           SQLite query plans of the listing and counting statements
 *   POST /profile/start  starts the V8 CPU profiler (in this process, through node:inspector)
 *   POST /profile/stop   {"name": "x"}: stops it and writes DIR/x.cpuprofile
 *   POST /exit           closes the store and exits
 *
 * Both listen on 127.0.0.1 with ports chosen by the system; the first line on stdout is
 * `{"ready":true,"port":…,"controlPort":…}`.
 */
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import { XMLParser } from 'fast-xml-parser';
import { Hono, type Context } from 'hono';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import mockConnector from '../connectors/mock.ts';
import { demoDirectory } from '../src/auth/demo-directory.ts';
import { identityFromEnv, type Identity } from '../src/auth/from-env.ts';
import { createGateway, readBody } from '../src/gateway.ts';
import { silentLogger } from '../src/log.ts';
import { webPlatform } from '../src/platform.ts';
import { SQL, sqliteStore } from '../src/store/sqlite.ts';
import type { ConferenceStore } from '../src/store/types.ts';
import { PARSER_OPTIONS, parseXml } from '../src/xml/parse.ts';
import { PROJECT_SCHEME } from './profile-summary.ts';
import { seedConferences } from './seed.ts';

const DOMAIN = 'example.com';
/** The gateway's default body limit, for the floors' reads. */
const MAX_BODY_BYTES = 1024 * 1024;
const PROJECT_URL = new URL('../', import.meta.url).href;
/** The listing user of the confs scenarios; every seeded conference belongs to other users. */
const LISTING_USER = `xcon-userid:bob@${DOMAIN}`;

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'gateway' },
    'data-dir': { type: 'string' },
    directory: { type: 'string', default: 'demo' },
    'profile-dir': { type: 'string' },
  },
});

let store: ConferenceStore | undefined;
let dbPath: string | undefined;
let identity: Identity | undefined;
let fetchHandler: (request: Request) => Response | Promise<Response>;

if (args.mode === 'hello') {
  const app = new Hono();
  app.get('/', (c) => c.text('Hello Hono!'));
  fetchHandler = app.fetch;
} else if (args.mode === 'floor') {
  fetchHandler = floorApp().fetch;
} else if (args.mode === 'gateway') {
  const dataDir = args['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required in gateway mode');
  dbPath = join(dataDir, 'ccmp.sqlite');
  store = sqliteStore({ path: dbPath });
  if (args.directory === 'ldap') identity = ldapIdentity();
  else if (args.directory !== 'demo')
    throw new Error(`--directory must be demo or ldap, got ${args.directory ?? ''}`);
  const app = createGateway({
    store,
    ...(identity
      ? { directory: identity.directory, schemes: identity.schemes, authThrottle: identity.throttle }
      : { directory: demoDirectory(DOMAIN) }),
    connectors: [mockConnector()],
    logger: silentLogger,
    config: { domain: DOMAIN },
  });
  await app.ready;
  fetchHandler = app.fetch;
} else {
  throw new Error(`--mode must be hello, floor or gateway, got ${args.mode ?? ''}`);
}

const server = serve({ fetch: fetchHandler, port: 0, hostname: '127.0.0.1' });
await new Promise<void>((resolve) => {
  if (server.listening) resolve();
  else
    server.once('listening', () => {
      resolve();
    });
});

let session: Session | undefined;

/**
 * What any CCMP server on fast-xml-parser must spend before it knows what a request asks: the body
 * read (as the gateway reads it) and the parse. The answer names the root element, so that the
 * run can check that the parse happened.
 */
function floorApp(): Hono {
  const app = new Hono();
  const rawParser = new XMLParser(PARSER_OPTIONS);
  const bodyOf = (c: Context) => readBody(c, MAX_BODY_BYTES);
  app.post('/parse', async (c) => {
    const parsed = rawParser.parse(await bodyOf(c)) as Record<string, unknown>[];
    const root = parsed.map((n) => Object.keys(n)[0]).find((k) => k !== undefined && !k.startsWith('?'));
    return c.text(`parsed ${root ?? 'nothing'}`);
  });
  app.post('/checked', async (c) => c.text(`parsed ${parseXml(await bodyOf(c)).name}`));
  return app;
}

const control = createServer((req, res) => {
  handleControl(req, res).catch((err: unknown) => {
    reply(res, 500, { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  });
});
control.listen(0, '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port;
  const controlPort = (control.address() as AddressInfo).port;
  const directory = identity?.describe() ?? `directory=demo(${DOMAIN})`;
  process.stdout.write(`${JSON.stringify({ ready: true, port, controlPort, directory })}\n`);
});

// --cpu-prof and the like write their files on a normal exit only.
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());

async function handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const body = await readJson(req);
  switch (`${req.method ?? ''} ${url.pathname}`) {
    case 'GET /cpu': {
      const cpu = process.cpuUsage();
      reply(res, 200, { user: cpu.user, system: cpu.system, rss: process.memoryUsage().rss });
      return;
    }
    case 'GET /ldap': {
      if (!identity?.ldapStats) throw new Error('ldap: the directory is not LDAP');
      reply(res, 200, identity.ldapStats());
      return;
    }
    case 'POST /seed': {
      const total = Number(body.total);
      if (!Number.isInteger(total) || total < 0 || total > 1_000_000) throw new Error('seed: bad total');
      reply(res, 200, await seed(total));
      return;
    }
    case 'GET /plan':
      reply(res, 200, plans());
      return;
    case 'POST /profile/start':
      await profilerStart();
      reply(res, 200, { ok: true });
      return;
    case 'POST /profile/stop': {
      const name = (typeof body.name === 'string' ? body.name : 'profile').replace(/[^\w.-]/g, '_');
      reply(res, 200, { file: await profilerStop(name) });
      return;
    }
    case 'POST /exit':
      reply(res, 200, { ok: true });
      setImmediate(() => void shutdown());
      return;
    default:
      reply(res, 404, { error: 'unknown control request' });
  }
}

/** The identity of an LDAP-backed gateway, as the Node entry builds it, from BENCH_IDENTITY_ENV only. */
function ldapIdentity(): Identity {
  const given: unknown = JSON.parse(process.env.BENCH_IDENTITY_ENV ?? 'null');
  if (typeof given !== 'object' || given === null)
    throw new Error('--directory ldap needs BENCH_IDENTITY_ENV');
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) if (typeof value === 'string') env[name] = value;
  if (env.CCMP_DIRECTORY !== 'ldap') throw new Error('BENCH_IDENTITY_ENV must set CCMP_DIRECTORY=ldap');
  return identityFromEnv(env, {
    domain: DOMAIN,
    platform: webPlatform,
    logger: silentLogger,
    readFile: (path) => readFileSync(path, 'utf8'),
  });
}

/**
 * Grows the store to `total` conferences by cloning the newest conference of the listing user
 * (made through the gateway) into conferences of other users, written in big batches through
 * the store API. The listing user is a member of none of them.
 */
async function seed(total: number): Promise<{ conferences: number; seeded: number; ms: number }> {
  if (!store) throw new Error('seed: no store in hello mode');
  const started = performance.now();
  const [templateUri] = await store.listByMember(LISTING_USER, { kinds: ['conference'], limit: 1 });
  const template = templateUri ? await store.get(templateUri) : undefined;
  if (!template) throw new Error(`seed: ${LISTING_USER} owns no conference to clone`);
  const existing = await store.count(['conference']);
  const seeded = await seedConferences(store, template, { from: existing, to: total });
  const conferences = await store.count(['conference']);
  return { conferences, seeded, ms: Math.round(performance.now() - started) };
}

/** Query plans on a second, read-only connection, with the parameters the gateway binds. */
function plans(): Record<string, string[]> {
  if (!dbPath) return {};
  const db = new Database(dbPath, { readonly: true });
  try {
    const kinds = ['conference', 'conference', 'conference', 'conference'];
    const explain = (sql: string, params: (string | number)[]) =>
      db
        .prepare<(string | number)[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...params)
        .map((r) => r.detail);
    return {
      listByMember: explain(SQL.listByMember, [LISTING_USER, ...kinds, 10_000]),
      listAll: explain(SQL.listAll, [...kinds, 10_000]),
      count: explain(SQL.count, ['conference', 'sidebar-by-val', 'sidebar-by-ref', 'conference']),
    };
  } finally {
    db.close();
  }
}

function post(method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (!session) {
      reject(new Error('no inspector session'));
      return;
    }
    session.post(method, params, (err, result) => {
      if (err) reject(err);
      else resolve(result);
    });
  });
}

async function profilerStart(): Promise<void> {
  if (!args['profile-dir']) throw new Error('profiling needs --profile-dir');
  if (!session) {
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
  }
  await post('Profiler.start');
}

async function profilerStop(name: string): Promise<string> {
  const dir = args['profile-dir'];
  if (!dir) throw new Error('profiling needs --profile-dir');
  const result = (await post('Profiler.stop')) as { profile: unknown };
  const file = join(dir, `${name}.cpuprofile`);
  // Script URLs are written relative to the project (`project:///src/…`), so that the files do not
  // carry the folder the project sits in; bench/profile-summary.ts resolves them again.
  writeFileSync(file, JSON.stringify(result.profile).replaceAll(PROJECT_URL, PROJECT_SCHEME));
  return file;
}

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  control.close();
  server.close();
  await identity?.directory.close?.();
  await store?.close();
  process.exit(0);
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      try {
        resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
