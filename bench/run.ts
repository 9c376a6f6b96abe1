/**
 * @module `npm run bench`: throughput, latency and server CPU per request of the gateway over
 * loopback, against a Hono hello-world on the same server stack, measured in one run.
 *
 *   npm run bench                       measure, check the targets, write bench/last-results.md
 *   npm run bench -- --profile          profile each scenario instead and print its hot spots
 *   npm run bench -- --duration 5 --warmup 2 --connections 10
 *
 * The servers run in child processes (bench/server.ts), so that the load generator does not share
 * their CPU accounting; each reports its own process.cpuUsage() on a control port.
 *
 * The LDAP-backed retrieve runs against a private OpenLDAP (test/services/slapd.ts, 127.0.0.1); when
 * slapd is not installed it is skipped, with a SKIP line, and the rest of the run goes on.
 */
import autocannon, { type Client, type Result } from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import {
  basicAuth,
  confObjIdOf,
  confsBody,
  confsEntries,
  createBody,
  responseCode,
  retrieveBody,
} from './messages.ts';
import type { LdapStats } from '../src/auth/ldap-connection.ts';
import { serviceAccount, startSlapd, type Slapd } from '../test/services/slapd.ts';
import { formatSummary, summarise, type CpuProfile, type ProfileSummary } from './profile-summary.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const PROJECT_DIR = dirname(BENCH_DIR);
const SERVER = join(BENCH_DIR, 'server.ts');
const RESULTS_FILE = join(BENCH_DIR, 'last-results.md');
const PROFILE_DIR = join(BENCH_DIR, 'profiles');
/** Conferences the listing user (bob) takes part in, among all stored conferences. */
const LISTING_USER_CONFS = 5;
const STORE_SIZES = [1_000, 100_000] as const;
/** The whole run is stopped after this long, whatever happens. */
const WATCHDOG_MS = 7 * 60_000;
/** Where test/services/slapd.ts looks for slapd; without it the LDAP scenario is skipped. */
const SLAPD_PATHS = ['/usr/sbin/slapd', '/usr/local/sbin/slapd'];
/** The LDAP user of the LDAP-backed retrieve, and her password in test/fixtures/ldap/seed.ldif. */
const LDAP_USER = { user: 'alice', password: 'alice-secret' };

const TARGETS = {
  retrieveRatio: 0.3,
  retrieveCpuUs: 100,
  createRatio: 0.15,
  confsLatencyGrowth: 2,
  /** LDAP-backed retrieve req/s ÷ demo-directory retrieve req/s. */
  ldapRetrieveRatio: 0.9,
  ldapOpsPerRequest: 0.01,
};

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    profile: { type: 'boolean', default: false },
  },
});
const DURATION_S = boundedNumber(opts.duration, 1, 60, 'duration');
const WARMUP_S = boundedNumber(opts.warmup, 0, 30, 'warmup');
const CONNECTIONS = boundedNumber(opts.connections, 1, 100, 'connections');
const PROFILING = opts.profile;

interface Tally {
  responses: number;
  /** Latency of every answer, in milliseconds (autocannon's own histogram keeps whole milliseconds). */
  latencies: number[];
  /** HTTP status → count, for statuses other than 200. */
  httpErrors: Record<string, number>;
  /** CCMP response code → count, for codes other than 200 (`none` when the answer has none). */
  ccmpErrors: Record<string, number>;
}

interface Scenario {
  name: string;
  label: string;
  method: 'GET' | 'POST';
  path: string;
  /** Basic-auth user (password: the user name, unless given) and body of each connection (i = connection index). */
  connection?: (i: number) => { user: string; password?: string; body: string };
  /** Whether an answer counts as a success (HTTP 200 is checked before). */
  ccmp: boolean;
  /** Checks one answer before the load starts; returns a short description or throws. */
  sample: (status: number, body: string) => string;
  /** The server's directory is LDAP: count its operations over the measurement. */
  ldap?: boolean;
}

/** LDAP operations of one scenario (the server's `ldapStats()` counters). */
interface LdapFigures {
  /** Differences over the measured window. */
  window: LdapStats;
  /** Operations in the window ÷ answers in the window. */
  opsPerReq: number;
  /** The counters at the end of the window, since the server started (set-up, sample, warm-up included). */
  sinceStart: LdapStats;
}

interface Figures {
  name: string;
  label: string;
  requests: number;
  seconds: number;
  reqPerSec: number;
  latencyMeanMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Answers during the warm-up (they also change the store, e.g. for create). */
  warmupRequests: number;
  cpuUsPerReq: number;
  /** The kernel's part of cpuUsPerReq (socket I/O, SQLite file I/O). */
  systemUsPerReq: number;
  errors: number;
  errorDetail: string;
  ldap?: LdapFigures;
  profile?: ProfileSummary;
}

interface Server {
  proc: ChildProcess;
  port: number;
  controlPort: number;
  /** The server's description of its directory (no secrets). */
  directory?: string;
  dataDir: string;
  control<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let activeSlapd: Slapd | undefined;

/** Stops every child at once; the promise settles when slapd has exited and its files are removed. */
function cleanup(): Promise<void> {
  for (const child of children) if (child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  const slapd = activeSlapd;
  activeSlapd = undefined;
  // dispose() sends SIGTERM before its first await, so slapd is told to stop even if we exit first.
  return slapd ? slapd.dispose().catch(() => undefined) : Promise.resolve();
}

function cleanupAndExit(code: number): void {
  void Promise.race([cleanup(), sleep(3000)]).finally(() => process.exit(code));
}

const watchdog = setTimeout(() => {
  console.error(`bench: stopped after ${WATCHDOG_MS / 60_000} minutes`);
  cleanupAndExit(2);
}, WATCHDOG_MS);
watchdog.unref();
process.on('SIGINT', () => {
  cleanupAndExit(130);
});

function boundedNumber(text: string | undefined, min: number, max: number, name: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name} must be between ${min} and ${max}`);
  return n;
}

/**
 * Starts a server child. `identityEnv` (settings as the Node entry reads them from the environment)
 * gives the gateway the directory that `identityFromEnv` builds, instead of the demo directory.
 */
async function startServer(
  mode: 'hello' | 'floor' | 'gateway',
  identityEnv?: Record<string, string>,
): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccmp-bench-'));
  tempDirs.add(dataDir);
  const args = ['--import', 'tsx', SERVER, '--mode', mode, '--data-dir', dataDir];
  if (identityEnv) args.push('--directory', 'ldap');
  if (PROFILING) args.push('--profile-dir', PROFILE_DIR);
  const proc = spawn(process.execPath, args, {
    cwd: PROJECT_DIR,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: identityEnv ? { ...process.env, BENCH_IDENTITY_ENV: JSON.stringify(identityEnv) } : process.env,
  });
  children.add(proc);
  const ready = await new Promise<{ port: number; controlPort: number; directory?: string }>(
    (resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the ${mode} server did not start in 30 s`));
      }, 30_000);
      proc.once('exit', (code) => {
        reject(new Error(`the ${mode} server exited (${String(code)})`));
      });
      if (!proc.stdout) throw new Error('no stdout');
      createInterface({ input: proc.stdout }).once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as { port: number; controlPort: number; directory?: string });
        } catch {
          reject(new Error(`unexpected output from the ${mode} server: ${line}`));
        }
      });
    },
  );
  const control = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${ready.controlPort}${path}`, {
      method,
      signal: AbortSignal.timeout(120_000),
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : {}),
    });
    const value = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`control ${path}: ${value.error ?? res.status}`);
    return value;
  };
  return {
    proc,
    dataDir,
    ...ready,
    control,
    async stop() {
      const exited = new Promise<void>((resolve) => {
        proc.once('exit', () => {
          resolve();
        });
      });
      await control('POST', '/exit').catch(() => undefined);
      await Promise.race([exited, sleep(5000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      children.delete(proc);
      rmSync(dataDir, { recursive: true, force: true });
      tempDirs.delete(dataDir);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One request outside the load, e.g. to check an answer or to set data up. */
async function request(server: Server, scenario: Scenario, i = 0): Promise<{ status: number; body: string }> {
  const conn = scenario.connection?.(i);
  const res = await fetch(`http://127.0.0.1:${server.port}${scenario.path}`, {
    method: scenario.method,
    signal: AbortSignal.timeout(10_000),
    ...(conn
      ? {
          body: conn.body,
          headers: {
            'content-type': 'application/ccmp+xml',
            authorization: basicAuth(conn.user, conn.password),
          },
        }
      : {}),
  });
  return { status: res.status, body: await res.text() };
}

function newTally(): Tally {
  return { responses: 0, latencies: [], httpErrors: {}, ccmpErrors: {} };
}

function load(server: Server, scenario: Scenario, seconds: number, tally: Tally): Promise<Result> {
  const bump = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);
  let next = 0;
  const instance = autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: scenario.method,
        path: scenario.path,
        onResponse(status, body) {
          tally.responses++;
          if (status !== 200) bump(tally.httpErrors, String(status));
          else if (scenario.ccmp) {
            const code = responseCode(body);
            if (code !== 200) bump(tally.ccmpErrors, code === undefined ? 'none' : String(code));
          }
        },
      },
    ],
    setupClient(client: Client) {
      const conn = scenario.connection?.(next++);
      if (!conn) return;
      client.setHeadersAndBody(
        { 'content-type': 'application/ccmp+xml', authorization: basicAuth(conn.user, conn.password) },
        conn.body,
      );
    },
  });
  instance.on('response', (_client, _status, _bytes, latencyMs) => {
    tally.latencies.push(latencyMs);
  });
  return instance;
}

/** Mean and percentiles of the latencies, in milliseconds. */
function latencyStats(latencies: number[]): { mean: number; p50: number; p99: number } {
  if (latencies.length === 0) return { mean: NaN, p50: NaN, p99: NaN };
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { mean: sum / sorted.length, p50: at(0.5), p99: at(0.99) };
}

function describeErrors(tally: Tally, result: Result): { count: number; detail: string } {
  const parts: string[] = [];
  let count = 0;
  for (const [status, n] of Object.entries(tally.httpErrors)) {
    count += n;
    parts.push(`HTTP ${status}: ${n}`);
  }
  for (const [code, n] of Object.entries(tally.ccmpErrors)) {
    count += n;
    parts.push(`CCMP ${code}: ${n}`);
  }
  const transport = result.errors + result.timeouts;
  if (transport > 0) {
    count += transport;
    parts.push(`socket errors ${result.errors}, timeouts ${result.timeouts}`);
  }
  return { count, detail: parts.join(', ') };
}

async function measure(server: Server, scenario: Scenario): Promise<Figures> {
  const sample = await request(server, scenario);
  const seen = scenario.sample(sample.status, sample.body);
  console.log(`\n${scenario.label}: sample answer OK (${seen})`);
  const warm = newTally();
  if (WARMUP_S > 0) {
    const result = await load(server, scenario, WARMUP_S, warm);
    const errors = describeErrors(warm, result);
    console.log(
      `  warm-up ${WARMUP_S} s: ${Math.round(warm.responses / WARMUP_S)} req/s` +
        (errors.count ? `, ${errors.count} errors (${errors.detail})` : ''),
    );
  }
  if (PROFILING) await server.control('POST', '/profile/start');
  const tally = newTally();
  const ldapBefore = scenario.ldap ? await server.control<LdapStats>('GET', '/ldap') : undefined;
  const before = await server.control<{ user: number; system: number }>('GET', '/cpu');
  const result = await load(server, scenario, DURATION_S, tally);
  const after = await server.control<{ user: number; system: number }>('GET', '/cpu');
  const ldapAfter = scenario.ldap ? await server.control<LdapStats>('GET', '/ldap') : undefined;
  let profile: ProfileSummary | undefined;
  if (PROFILING) {
    const { file } = await server.control<{ file: string }>('POST', '/profile/stop', { name: scenario.name });
    profile = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, 20, tally.responses);
  }
  const cpuUs = after.user + after.system - (before.user + before.system);
  const errors = describeErrors(tally, result);
  const seconds = result.duration;
  const latency = latencyStats(tally.latencies);
  const figures: Figures = {
    name: scenario.name,
    label: scenario.label,
    requests: tally.responses,
    warmupRequests: warm.responses,
    seconds: round(seconds, 2),
    reqPerSec: Math.round(tally.responses / seconds),
    latencyMeanMs: round(latency.mean, 2),
    latencyP50Ms: round(latency.p50, 2),
    latencyP99Ms: round(latency.p99, 2),
    cpuUsPerReq: tally.responses > 0 ? round(cpuUs / tally.responses, 1) : NaN,
    systemUsPerReq: tally.responses > 0 ? round((after.system - before.system) / tally.responses, 1) : NaN,
    errors: errors.count,
    errorDetail: errors.detail,
    ...(ldapBefore && ldapAfter ? { ldap: ldapFigures(ldapBefore, ldapAfter, tally.responses) } : {}),
    ...(profile ? { profile } : {}),
  };
  console.log(
    `  ${figures.reqPerSec} req/s, p50 ${figures.latencyP50Ms} ms, p99 ${figures.latencyP99Ms} ms, ` +
      `${figures.cpuUsPerReq} µs server CPU/request (${figures.systemUsPerReq} in the kernel), ` +
      `${figures.requests} requests` +
      (figures.errors ? `, ${figures.errors} ERRORS (${figures.errorDetail})` : ', no errors'),
  );
  if (figures.ldap) {
    const { window: w, sinceStart: t } = figures.ldap;
    console.log(
      `  LDAP: ${w.operations} operations in the measured window (${w.searches} searches, ${w.binds} binds, ` +
        `${w.connections} connections opened, ${w.failures} failures) = ${figures.ldap.opsPerReq} per request; ` +
        `${t.operations} since the server started (set-up, sample and warm-up included)`,
    );
  }
  if (profile) console.log(formatSummary(`  profile ${scenario.name}`, profile).replace(/^/gm, '  '));
  return figures;
}

function ldapFigures(before: LdapStats, after: LdapStats, requests: number): LdapFigures {
  const window: LdapStats = {
    searches: after.searches - before.searches,
    binds: after.binds - before.binds,
    operations: after.operations - before.operations,
    connections: after.connections - before.connections,
    failures: after.failures - before.failures,
  };
  return {
    window,
    opsPerReq: requests > 0 ? round(window.operations / requests, 5) : NaN,
    sinceStart: after,
  };
}

/** Conferences each creator holds at the end of a create scenario (one was made by the sample). */
function createdPerUser(create: Figures | undefined): number {
  if (!create) return 0;
  return Math.round((create.warmupRequests + create.requests + 1) / CREATORS.length);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function expectCcmp(status: number, body: string): void {
  if (status !== 200) throw new Error(`HTTP ${status}: ${body.slice(0, 300)}`);
  const code = responseCode(body);
  if (code !== 200) throw new Error(`CCMP response code ${String(code)}: ${body.slice(0, 600)}`);
}

const helloScenario: Scenario = {
  name: 'hello',
  label: 'hello-world (Hono on @hono/node-server)',
  method: 'GET',
  path: '/',
  ccmp: false,
  sample(status, body) {
    if (status !== 200 || body !== 'Hello Hono!') throw new Error(`hello-world answered ${status}: ${body}`);
    return `HTTP 200, ${body}`;
  },
};

/**
 * The parser floors: the same request bodies as retrieve and create, read as the gateway reads them,
 * then only parsed (bench/server.ts, floor mode). No CCMP server built on fast-xml-parser can be
 * faster than its floor, so a throughput target above the floor cannot be met on this stack.
 */
const FLOORS = [
  { step: 'parse', what: 'XMLParser only' },
  { step: 'checked', what: 'the gateway’s XML step, XMLValidator included' },
] as const;
const FLOOR_BODIES = {
  retrieve: { text: 'retrieve', body: () => retrieveBody('alice', 'xcon:floor@example.com') },
  create: { text: 'create', body: () => createBody('alice') },
} as const;
type FloorStep = (typeof FLOORS)[number]['step'];
type FloorBody = keyof typeof FLOOR_BODIES;

function floorScenario(step: FloorStep, request: FloorBody): Scenario {
  const floor = FLOORS.find((f) => f.step === step);
  const body = FLOOR_BODIES[request].body();
  return {
    name: `floor-${step}-${request}`,
    label: `floor: ${request} body (${Buffer.byteLength(body)} B), ${floor?.what ?? step}`,
    method: 'POST',
    path: `/${step}`,
    connection: () => ({ user: 'alice', body }),
    ccmp: false,
    sample(status, text) {
      if (status !== 200 || !/^parsed (\w+:)?ccmpRequest$/.test(text)) {
        throw new Error(`the ${step} floor answered ${status}: ${text.slice(0, 300)}`);
      }
      return `HTTP 200, ${text}`;
    },
  };
}

/** Users of the create scenario, one per connection in turn (each may own at most 10,000). */
const CREATORS = ['alice', 'bob', 'carol'];

function retrieveScenario(confObjID: string, password?: string): Scenario {
  return {
    name: 'retrieve',
    label: 'confRequest retrieve (owner)',
    method: 'POST',
    path: '/ccmp',
    connection: () => ({
      user: 'alice',
      ...(password !== undefined ? { password } : {}),
      body: retrieveBody('alice', confObjID),
    }),
    ccmp: true,
    sample(status, body) {
      expectCcmp(status, body);
      if (confObjIdOf(body) !== confObjID || !body.includes('<confInfo ')) {
        throw new Error(`retrieve did not return ${confObjID}: ${body.slice(0, 600)}`);
      }
      return `CCMP 200, ${confObjID}, ${body.length} bytes`;
    },
  };
}

const createScenario: Scenario = {
  name: 'create',
  label: 'confRequest create',
  method: 'POST',
  path: '/ccmp',
  connection: (i) => {
    const user = CREATORS[i % CREATORS.length] ?? 'alice';
    return { user, body: createBody(user) };
  },
  ccmp: true,
  sample(status, body) {
    expectCcmp(status, body);
    const id = confObjIdOf(body);
    if (!id) throw new Error(`create returned no confObjID: ${body.slice(0, 600)}`);
    return `CCMP 200, created ${id}, ${body.length} bytes`;
  },
};

function confsScenario(stored: number): Scenario {
  const size = stored >= 1000 ? `${stored / 1000}k` : String(stored);
  return {
    name: `confs-${size}`,
    label: `confsRequest, ${size} conferences stored`,
    method: 'POST',
    path: '/ccmp',
    connection: () => ({ user: 'bob', body: confsBody('bob') }),
    ccmp: true,
    sample(status, body) {
      expectCcmp(status, body);
      const n = confsEntries(body);
      if (n !== LISTING_USER_CONFS)
        throw new Error(`bob should see ${LISTING_USER_CONFS} conferences, got ${n}`);
      return `CCMP 200, ${n} conferences listed`;
    },
  };
}

interface Check {
  name: string;
  value: number;
  target: string;
  pass: boolean;
  /** Why the check could not be made (then it is neither PASS nor MISS). */
  skipped?: string;
}

function verdict(c: Check): 'PASS' | 'MISS' | 'SKIP' {
  return c.skipped !== undefined ? 'SKIP' : c.pass ? 'PASS' : 'MISS';
}

/** A gateway whose directory is a private slapd, with a conference owned by the LDAP user. */
interface LdapSide {
  slapd: Slapd;
  server: Server;
  confObjID: string;
}

/**
 * Starts slapd (seeded from test/fixtures/ldap/seed.ldif) and a gateway on it, with the settings an
 * operator would give for this directory; returns the reason instead when slapd is missing or does
 * not start. slapd is stopped again if the rest fails.
 */
async function startLdapSide(): Promise<LdapSide | { skip: string }> {
  if (!SLAPD_PATHS.some((p) => existsSync(p))) {
    return { skip: 'slapd is not installed; apt-get install slapd ldap-utils to run it' };
  }
  let slapd: Slapd;
  try {
    slapd = await startSlapd();
  } catch (err) {
    return {
      skip: `slapd did not start: ${(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''}`,
    };
  }
  activeSlapd = slapd;
  let server: Server | undefined;
  try {
    const { bindDn, bindPassword } = serviceAccount(slapd.suffix);
    server = await startServer('gateway', {
      CCMP_DIRECTORY: 'ldap',
      CCMP_MAPPINGS: 'mappings/openldap-inetorgperson.json',
      // The schemes of the demo-directory gateway, so that only the directory differs.
      CCMP_AUTH_SCHEMES: 'basic,subject',
      LDAP_URL: slapd.url,
      LDAP_BASE_DN: slapd.suffix,
      LDAP_BIND_DN: bindDn,
      LDAP_BIND_PASSWORD: bindPassword,
    });
    const created = await request(server, {
      ...createScenario,
      connection: () => ({ ...LDAP_USER, body: createBody(LDAP_USER.user) }),
    });
    expectCcmp(created.status, created.body);
    const confObjID = confObjIdOf(created.body);
    if (!confObjID) throw new Error('no confObjID in the create answer of the LDAP gateway');
    return { slapd, server, confObjID };
  } catch (err) {
    await server?.stop();
    await stopSlapd(slapd);
    throw err;
  }
}

async function stopSlapd(slapd: Slapd): Promise<void> {
  try {
    await slapd.dispose();
  } finally {
    if (activeSlapd === slapd) activeSlapd = undefined;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg()[0] ?? NaN;
  if (PROFILING) mkdirSync(PROFILE_DIR, { recursive: true });
  console.log(
    `CCMP gateway benchmark: ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per scenario` +
      (PROFILING ? ', PROFILING (figures are slowed down by the profiler)' : ''),
  );
  const results: Figures[] = [];
  const plans: Record<string, Record<string, string[]>> = {};
  let ldapSkipped: string | undefined;

  // 1. The baseline.
  let server = await startServer('hello');
  try {
    results.push(await measure(server, helloScenario));
  } finally {
    await server.stop();
  }

  // The parser floors, right after the baseline they are compared with.
  server = await startServer('floor');
  try {
    for (const request of ['retrieve', 'create'] as const) {
      for (const { step } of FLOORS) results.push(await measure(server, floorScenario(step, request)));
    }
  } finally {
    await server.stop();
  }

  // 2 and 3. Retrieve and create, on a fresh gateway. The LDAP-backed retrieve runs between two
  // demo-directory retrieves, on a second gateway started beforehand, so that the machine's drift
  // weighs on both sides of its ratio alike.
  server = await startServer('gateway');
  try {
    const created = await request(server, createScenario);
    expectCcmp(created.status, created.body);
    const confObjID = confObjIdOf(created.body);
    if (!confObjID) throw new Error('no confObjID in the create answer');
    const ldap = await startLdapSide();
    try {
      if ('skip' in ldap) {
        ldapSkipped = ldap.skip;
        console.log(`\nSKIP  confRequest retrieve (owner, LDAP directory): ${ldap.skip}`);
      } else {
        console.log(`\nLDAP gateway: ${ldap.server.directory ?? ''}`);
      }
      results.push(await measure(server, retrieveScenario(confObjID)));
      if (!('skip' in ldap)) {
        results.push(
          await measure(ldap.server, {
            ...retrieveScenario(ldap.confObjID, LDAP_USER.password),
            name: 'retrieve-ldap',
            label: 'confRequest retrieve (owner, LDAP directory)',
            ldap: true,
          }),
        );
        results.push(
          await measure(server, {
            ...retrieveScenario(confObjID),
            name: 'retrieve-again',
            label: 'confRequest retrieve (owner), again',
          }),
        );
      }
    } finally {
      if (!('skip' in ldap)) {
        await ldap.server.stop();
        await stopSlapd(ldap.slapd);
      }
    }
    results.push(await measure(server, createScenario));
  } finally {
    await server.stop();
  }

  // 4. Listing, on another fresh gateway: bob's conferences are made through the gateway, every
  // other one is seeded through the store API and belongs to other users.
  server = await startServer('gateway');
  try {
    for (let i = 0; i < LISTING_USER_CONFS; i++) {
      const created = await request(server, {
        ...createScenario,
        connection: () => ({ user: 'bob', body: createBody('bob') }),
      });
      expectCcmp(created.status, created.body);
    }
    for (const total of STORE_SIZES) {
      const seeded = await server.control<{ conferences: number; seeded: number; ms: number }>(
        'POST',
        '/seed',
        {
          total,
        },
      );
      console.log(`\nstore: ${seeded.conferences} conferences (${seeded.seeded} seeded in ${seeded.ms} ms)`);
      const scenario = confsScenario(total);
      plans[scenario.name] = await server.control<Record<string, string[]>>('GET', '/plan');
      console.log(`  query plan of listByMember: ${(plans[scenario.name]?.listByMember ?? []).join('; ')}`);
      results.push(await measure(server, scenario));
    }
    // Not a target: how creation scales with the number of stored conferences.
    results.push(
      await measure(server, {
        ...createScenario,
        name: 'create-100k',
        label: 'confRequest create, 100k stored (info)',
      }),
    );
  } finally {
    await server.stop();
  }

  // 5. The baseline again, to show how much the machine drifted during the run.
  server = await startServer('hello');
  try {
    results.push(
      await measure(server, { ...helloScenario, name: 'hello-again', label: 'hello-world, again' }),
    );
  } finally {
    await server.stop();
  }

  await report(results, plans, Date.now() - started, [loadBefore, loadavg()[0] ?? NaN], ldapSkipped);
}

interface Reach {
  name: string;
  goal: number;
  goalText: string;
  gateway: number;
  /** The XMLParser-only floor, and the floor of the gateway's whole XML step. */
  parseOnly: number;
  checked: number;
  verdict: string;
}

/** The throughput and CPU targets set against what the parser alone allows. */
function floorReach(
  by: (name: string) => Figures | undefined,
  ratio: (r: Figures | undefined) => number,
  retrieve: Figures | undefined,
  create: Figures | undefined,
): Reach[] {
  const floor = (step: FloorStep, request: FloorBody) => by(`floor-${step}-${request}`);
  const rows: { name: string; goal: number; higher: boolean; value: (r: Figures | undefined) => number }[] = [
    { name: 'retrieve req/s vs hello-world', goal: TARGETS.retrieveRatio, higher: true, value: ratio },
    {
      name: 'retrieve server CPU µs/request',
      goal: TARGETS.retrieveCpuUs,
      higher: false,
      value: (r) => r?.cpuUsPerReq ?? NaN,
    },
    { name: 'create req/s vs hello-world', goal: TARGETS.createRatio, higher: true, value: ratio },
  ];
  return rows.map(({ name, goal, higher, value }) => {
    const request: FloorBody = name.startsWith('create') ? 'create' : 'retrieve';
    const parseOnly = value(floor('parse', request));
    const checked = value(floor('checked', request));
    const meets = (v: number) => (higher ? v >= goal : v <= goal);
    const verdict = !Number.isFinite(parseOnly)
      ? 'not measured'
      : !meets(parseOnly)
        ? 'no: the parser alone misses the goal'
        : !meets(checked)
          ? 'no: the XML step alone misses the goal'
          : 'yes';
    return {
      name,
      goal,
      goalText: `${higher ? '≥' : '≤'} ${goal}`,
      gateway: value(request === 'create' ? create : retrieve),
      parseOnly,
      checked,
      verdict,
    };
  });
}

async function report(
  results: Figures[],
  plans: Record<string, Record<string, string[]>>,
  elapsedMs: number,
  loadAverage: number[],
  ldapSkipped: string | undefined,
): Promise<void> {
  const loadText = loadAverage.map((l) => l.toFixed(1)).join(' → ');
  const by = (name: string) => results.find((r) => r.name === name);
  const hello = by('hello');
  const helloAgain = by('hello-again');
  if (!hello) throw new Error('no baseline');
  // The baseline is the mean of the two hello-world runs, which bracket the gateway runs.
  const baseline = helloAgain ? (hello.reqPerSec + helloAgain.reqPerSec) / 2 : hello.reqPerSec;
  const ratio = (r: Figures | undefined) => (r ? round(r.reqPerSec / baseline, 3) : NaN);
  const retrieve = by('retrieve');
  const create = by('create');
  const confsSmall = by('confs-1k');
  const confsLarge = by('confs-100k');
  const growthMean =
    confsSmall && confsLarge ? round(confsLarge.latencyMeanMs / confsSmall.latencyMeanMs, 2) : NaN;
  const growthP99 =
    confsSmall && confsLarge ? round(confsLarge.latencyP99Ms / confsSmall.latencyP99Ms, 2) : NaN;
  const growthCpu =
    confsSmall && confsLarge ? round(confsLarge.cpuUsPerReq / confsSmall.cpuUsPerReq, 2) : NaN;
  const createLarge = by('create-100k');
  const createGrowthCpu =
    create && createLarge ? round(createLarge.cpuUsPerReq / create.cpuUsPerReq, 2) : NaN;
  // The LDAP-backed retrieve against the mean of the two demo-directory retrieves that bracket it.
  const retrieveLdap = by('retrieve-ldap');
  const retrieveAgain = by('retrieve-again');
  const demoRetrieve =
    retrieve && retrieveAgain
      ? (retrieve.reqPerSec + retrieveAgain.reqPerSec) / 2
      : (retrieve?.reqPerSec ?? NaN);
  const ldapRatio = retrieveLdap ? round(retrieveLdap.reqPerSec / demoRetrieve, 3) : NaN;
  const ldapOps = retrieveLdap?.ldap?.opsPerReq ?? NaN;
  const ldapCpuDelta =
    retrieveLdap && retrieve && retrieveAgain
      ? round(retrieveLdap.cpuUsPerReq - (retrieve.cpuUsPerReq + retrieveAgain.cpuUsPerReq) / 2, 1)
      : NaN;
  const ldapMissing = ldapSkipped ?? (retrieveLdap ? undefined : 'not measured');

  const checks: Check[] = [
    {
      name: 'retrieve req/s vs hello-world',
      value: ratio(retrieve),
      target: `≥ ${TARGETS.retrieveRatio}`,
      pass: ratio(retrieve) >= TARGETS.retrieveRatio,
    },
    {
      name: 'retrieve server CPU µs/request',
      value: retrieve?.cpuUsPerReq ?? NaN,
      target: `≤ ${TARGETS.retrieveCpuUs}`,
      pass: (retrieve?.cpuUsPerReq ?? Infinity) <= TARGETS.retrieveCpuUs,
    },
    {
      name: 'create req/s vs hello-world',
      value: ratio(create),
      target: `≥ ${TARGETS.createRatio}`,
      pass: ratio(create) >= TARGETS.createRatio,
    },
    {
      name: 'confs mean latency, 100k ÷ 1k stored',
      value: growthMean,
      target: `≤ ${TARGETS.confsLatencyGrowth}`,
      pass: growthMean <= TARGETS.confsLatencyGrowth,
    },
    {
      name: 'LDAP retrieve req/s vs demo-directory retrieve',
      value: ldapRatio,
      target: `≥ ${TARGETS.ldapRetrieveRatio}`,
      pass: ldapRatio >= TARGETS.ldapRetrieveRatio,
      ...(ldapMissing !== undefined ? { skipped: ldapMissing } : {}),
    },
    {
      name: 'LDAP operations per retrieve',
      value: ldapOps,
      target: `≤ ${TARGETS.ldapOpsPerRequest}`,
      pass: ldapOps <= TARGETS.ldapOpsPerRequest,
      ...(ldapMissing !== undefined ? { skipped: ldapMissing } : {}),
    },
  ];
  const errorFree = results.every((r) => r.errors === 0);
  const reach = floorReach(by, ratio, retrieve, create);

  const header = [
    'scenario',
    'req/s',
    '× hello',
    'p50 ms',
    'p99 ms',
    'CPU µs/req',
    'of which kernel',
    'LDAP ops/req',
    'requests',
    'errors',
  ];
  const rows = results.map((r) => [
    r.label,
    String(r.reqPerSec),
    r.name.startsWith('hello') ? '' : ratio(r).toFixed(3),
    r.latencyP50Ms.toFixed(2),
    r.latencyP99Ms.toFixed(2),
    r.cpuUsPerReq.toFixed(1),
    r.systemUsPerReq.toFixed(1),
    r.ldap ? String(r.ldap.opsPerReq) : '',
    String(r.requests),
    r.errors ? `${r.errors} (${r.errorDetail})` : '0',
  ]);

  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(
    `\n${PROFILING ? 'PROFILED RUN (not comparable): ' : ''}results, ${CONNECTIONS} connections, ${DURATION_S} s each`,
  );
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log(
    `\nbaseline = mean of the two hello-world runs: ${Math.round(baseline)} req/s` +
      (helloAgain ? ` (${hello.reqPerSec} then ${helloAgain.reqPerSec})` : ''),
  );
  console.log(`1-minute load average of the machine: ${loadText} (start → end; ${cpus().length} cores)`);
  console.log(`confs 100k ÷ 1k: mean latency ×${growthMean}, p99 ×${growthP99}, CPU/request ×${growthCpu}`);
  console.log(`create with 100k stored ÷ create on a fresh store: CPU/request ×${createGrowthCpu}`);
  const ldapText =
    ldapMissing !== undefined
      ? `LDAP-backed retrieve: skipped (${ldapMissing})`
      : `LDAP-backed retrieve ÷ demo-directory retrieve: req/s ×${ldapRatio} ` +
        `(demo = mean of the two demo-directory retrieves, ${Math.round(demoRetrieve)} req/s: ` +
        `${retrieve?.reqPerSec ?? NaN} then ${retrieveAgain?.reqPerSec ?? NaN}), ` +
        `CPU/request ${ldapCpuDelta >= 0 ? '+' : ''}${ldapCpuDelta} µs, ${ldapOps} LDAP operations per request ` +
        `(${retrieveLdap?.ldap?.window.operations ?? NaN} in the measured window of ${retrieveLdap?.requests ?? NaN} requests)`;
  console.log(ldapText);
  console.log('\ntargets:');
  for (const c of checks)
    console.log(
      `  ${verdict(c)}  ${c.name}: ` +
        (c.skipped !== undefined ? c.skipped : `${c.value} (target ${c.target})`),
    );
  console.log(`  ${errorFree ? 'PASS' : 'MISS'}  every answer HTTP 200 with CCMP response code 200`);
  console.log(
    '\nparser floors (a target beyond the XMLParser-only floor cannot be met with fast-xml-parser):',
  );
  for (const r of reach)
    console.log(
      `  ${r.name}: goal ${r.goal}, gateway ${r.gateway}, floor ${r.parseOnly} (XMLParser only), ` +
        `${r.checked} (XML step) → ${r.verdict}`,
    );
  // Figures measured on errors are worthless: fail the run. Missed targets are results, not failures.
  if (!errorFree) process.exitCode = 1;

  const machine = {
    benchmark: 'ccmp-gateway',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadAverage: loadAverage.map((l) => round(l, 2)),
    connections: CONNECTIONS,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    profiled: PROFILING,
    baselineReqPerSec: Math.round(baseline),
    scenarios: results.map((r) => ({
      ...r,
      profile: undefined,
      ratioToHello: r.name.startsWith('hello') ? null : ratio(r),
    })),
    confsGrowth: { latencyMean: growthMean, latencyP99: growthP99, cpuPerRequest: growthCpu },
    createGrowth: { cpuPerRequest: createGrowthCpu },
    ldapRetrieve:
      ldapMissing !== undefined
        ? { skipped: ldapMissing }
        : {
            ratioToDemoRetrieve: ldapRatio,
            demoRetrieveReqPerSec: Math.round(demoRetrieve),
            cpuUsPerReqDelta: ldapCpuDelta,
            ldapOpsPerReq: ldapOps,
          },
    checks: checks.map((c) => ({
      ...c,
      value: Number.isFinite(c.value) ? c.value : null,
      result: verdict(c),
    })),
    errorFree,
    floors: reach,
    elapsedS: Math.round(elapsedMs / 1000),
  };
  console.log(`\n${JSON.stringify(machine)}`);

  if (PROFILING) {
    console.log(`\nprofiles written to bench/profiles/ (not to bench/last-results.md)`);
    return;
  }
  const md = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${machine.date.slice(0, 10)}: Node ${machine.node}, ${machine.cores} × ${machine.cpu}, ` +
      `${CONNECTIONS} connections over loopback, ${WARMUP_S} s warm-up then ${DURATION_S} s per scenario. ` +
      'Server CPU is measured inside the server process, which runs apart from the load generator. ' +
      'Throughput varies from run to run on a shared machine; the ratios to hello-world and the CPU per ' +
      'request are the figures to compare.',
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    `The hello-world baseline is the mean of the two hello-world runs: ${Math.round(baseline)} req/s. ` +
      `1-minute load average of the machine: ${loadText} (start → end).`,
    '',
    `Listing, 100k ÷ 1k stored conferences: mean latency ×${growthMean}, p99 ×${growthP99}, CPU per request ×${growthCpu}. ` +
      `Creation with 100k stored ÷ creation on a fresh store: CPU per request ×${createGrowthCpu} (not a target).`,
    '',
    `${ldapText}.`,
    '',
    '## Scenarios',
    '',
    '- hello-world: `GET /` answered by a bare Hono app on the same server stack as the gateway.',
    '- retrieve: confRequest retrieve of one conference by its owner (HTTP Basic), on a fresh SQLite store, ' +
      'with the demo directory; run twice, before and after the LDAP-backed retrieve.',
    '- retrieve, LDAP directory: the same request on a second fresh gateway whose directory is a private OpenLDAP ' +
      '(slapd on 127.0.0.1, seeded from test/fixtures/ldap/seed.ldif) built by `identityFromEnv`, with its ' +
      `default caches and the same schemes (basic, subject); the owner is the LDAP user ${LDAP_USER.user}. ` +
      'LDAP ops/req: searches and binds sent during the measured window, from `ldapStats()` in the server, ' +
      'divided by the answers.',
    `- create: confRequest create with a Linphone-style document (subject, media, iCalendar, two invitees); ` +
      `the connections take turns as ${CREATORS.join(', ')}, who end the run with about ` +
      `${createdPerUser(create)} conferences each (creation checks the creator's count).`,
    `- confs: confsRequest by bob, who takes part in ${LISTING_USER_CONFS} conferences made through the gateway; ` +
      'every other stored conference is a clone written through the store API and belongs to other users.',
    '- create, 100k stored: the create scenario again, on the store of the listing scenarios.',
    '- floor: the retrieve and create request bodies sent to a Hono app on the same stack that only reads ' +
      'and parses them (see Parser floors below); run right after the first hello-world.',
    '',
    '## Targets',
    '',
    '| target | value | goal | result |',
    '| --- | ---: | ---: | --- |',
    ...checks.map(
      (c) =>
        `| ${c.name} | ${c.skipped !== undefined ? '' : String(c.value)} | ${c.target} | ${verdict(c)}` +
        `${c.skipped !== undefined ? ` (${c.skipped})` : ''} |`,
    ),
    `| answers with HTTP 200 and CCMP 200 | ${errorFree ? 'all' : 'not all'} | all | ${errorFree ? 'PASS' : 'MISS'} |`,
    '',
    '## Parser floors',
    '',
    'Each floor is a Hono app on the same server stack that reads the request body as the gateway does, ' +
      'parses it, and answers a fixed text: no authentication, no store, no CCMP. Every CCMP request must be ' +
      'parsed before anything else can happen, so no CCMP server built on fast-xml-parser can beat the ' +
      '"XMLParser only" floor, and the gateway, which must also refuse XML that is not well-formed ' +
      '(the parser alone accepts it), cannot beat the "XML step" floor.',
    '',
    '| target | goal | gateway | floor: XMLParser only | floor: XML step | within reach |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...reach.map(
      (r) => `| ${r.name} | ${r.goalText} | ${r.gateway} | ${r.parseOnly} | ${r.checked} | ${r.verdict} |`,
    ),
    '',
    '## Query plan',
    '',
    'Of the member listing (`listByMember`), with 100k conferences stored:',
    '',
    ...(plans['confs-100k']?.listByMember ?? ['(not available)']).map((p) => `- \`${p}\``),
    '',
  ].join('\n');
  const prettierOptions = (await prettier.resolveConfig(RESULTS_FILE)) ?? {};
  writeFileSync(RESULTS_FILE, await prettier.format(md, { ...prettierOptions, parser: 'markdown' }));
  console.log(`\nwritten: bench/last-results.md (${Math.round(elapsedMs / 1000)} s in all)`);
}

main()
  .catch((err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    clearTimeout(watchdog);
    await cleanup();
  });
