/**
 * @module A private OpenLDAP `slapd` for tests: 127.0.0.1, a free port, a temporary config and database.
 *
 * The database is loaded from `test/fixtures/ldap/seed.ldif` with `slapadd` before the server starts.
 * The server can be stopped and started again on the same port (the data stays), or paused with
 * SIGSTOP so that it accepts connections but never answers, as a hung directory does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SlapdOptions {
  /** LDIF to load; default the shared seed. */
  seed?: string;
  suffix?: string;
  /** Also listen on ldaps:// with a self-signed certificate for 127.0.0.1. */
  tls?: boolean;
}

export interface Slapd {
  url: string;
  port: number;
  /** Set with `tls`. */
  ldapsUrl?: string;
  /** The self-signed certificate, PEM, set with `tls`. */
  certificate?: string;
  suffix: string;
  adminDn: string;
  adminPassword: string;
  /** Stops the server; the data stays for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
  /** SIGSTOP: connections are accepted, nothing is answered. */
  pause(): void;
  resume(): void;
  /** Stops the server and removes its files. */
  dispose(): Promise<void>;
}

const FIXTURES = fileURLToPath(new URL('../fixtures/ldap/', import.meta.url));
const SERVICE_DN = 'cn=ccmp-gateway,ou=services';

export async function startSlapd(options: SlapdOptions = {}): Promise<Slapd> {
  const slapd = ensureInstalled();
  const suffix = options.suffix ?? 'dc=example,dc=com';
  const adminPassword = 'admin-secret';
  const dir = mkdtempSync(join(tmpdir(), 'ccmp-slapd-'));
  mkdirSync(join(dir, 'data'));
  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : undefined;
  let certificate: string | undefined;
  if (tlsPort !== undefined) certificate = makeCertificate(dir);

  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, config(dir, suffix, hash(adminPassword), tlsPort !== undefined));
  const load = spawnSync('slapadd', ['-q', '-f', conf, '-l', options.seed ?? join(FIXTURES, 'seed.ldif')], {
    encoding: 'utf8',
  });
  if (load.status !== 0) throw new Error(`slapadd failed: ${load.stderr}`);

  const urls = [
    `ldap://127.0.0.1:${port}/`,
    ...(tlsPort !== undefined ? [`ldaps://127.0.0.1:${tlsPort}/`] : []),
  ];
  let child: ChildProcess | undefined;
  let paused = false;

  async function start(): Promise<void> {
    if (child) return;
    // -d keeps slapd in the foreground, so that it is our child and dies with the test run.
    const proc = spawn(slapd, ['-f', conf, '-h', urls.join(' '), '-d', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    proc.stderr?.on('data', (d: Buffer) => (errors += d.toString()));
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (!(await listening(port))) {
      if (!child || Date.now() > deadline) throw new Error(`slapd did not start: ${errors}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    if (paused) resume();
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    child = undefined;
  }

  function resume(): void {
    if (child?.pid !== undefined && paused) process.kill(child.pid, 'SIGCONT');
    paused = false;
  }

  await start();
  return {
    url: `ldap://127.0.0.1:${port}`,
    port,
    ...(tlsPort !== undefined ? { ldapsUrl: `ldaps://127.0.0.1:${tlsPort}` } : {}),
    ...(certificate !== undefined ? { certificate } : {}),
    suffix,
    adminDn: `cn=admin,${suffix}`,
    adminPassword,
    stop,
    start,
    pause() {
      if (child?.pid !== undefined) process.kill(child.pid, 'SIGSTOP');
      paused = true;
    },
    resume,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The DN and password of the service account in the seed. */
export function serviceAccount(suffix = 'dc=example,dc=com'): { bindDn: string; bindPassword: string } {
  return { bindDn: `${SERVICE_DN},${suffix}`, bindPassword: 'service-secret' };
}

function config(dir: string, suffix: string, rootpw: string, tls: boolean): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include ${join(FIXTURES, 'ccmp-test.schema')}
pidfile ${join(dir, 'slapd.pid')}
modulepath /usr/lib/ldap
moduleload back_mdb
loglevel none
${tls ? `TLSCertificateFile ${join(dir, 'cert.pem')}\nTLSCertificateKeyFile ${join(dir, 'key.pem')}\n` : ''}
database mdb
maxsize 67108864
suffix "${suffix}"
rootdn "cn=admin,${suffix}"
rootpw ${rootpw}
directory ${join(dir, 'data')}
index objectClass eq
index uid,cn,mail eq,sub
index member eq
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to attrs=ccmpDigestHA1
  by dn.exact="${SERVICE_DN},${suffix}" read
  by * none
access to *
  by * read
`;
}

function ensureInstalled(): string {
  const find = () => ['/usr/sbin/slapd', '/usr/local/sbin/slapd'].find((p) => existsSync(p));
  const found = find();
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) throw new Error('slapd is not installed: apt-get install slapd ldap-utils');
  const sh = (command: string, input?: string) => {
    const r = spawnSync('sh', ['-c', command], {
      input,
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}`);
  };
  sh('debconf-set-selections', 'slapd slapd/no_configuration boolean true\n');
  sh('apt-get update -q && apt-get install -y -q --no-install-recommends slapd ldap-utils');
  const installed = find();
  if (installed === undefined) throw new Error('slapd is still missing after apt-get install');
  return installed;
}

function hash(password: string): string {
  const r = spawnSync('slappasswd', ['-h', '{SSHA}', '-s', password], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`slappasswd failed: ${r.stderr}`);
  return r.stdout.trim();
}

function makeCertificate(dir: string): string {
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return readFileSync(join(dir, 'cert.pem'), 'utf8');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}
