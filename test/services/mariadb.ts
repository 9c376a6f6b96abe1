/**
 * @module A private MariaDB server for tests.
 *
 * Starts `mariadbd` from the Debian package on 127.0.0.1 with a random free port and a throw-away
 * data directory, and stops it afterwards. Nothing from the machine's own MySQL configuration is
 * read (`--no-defaults`), so a system server, if any, is neither used nor disturbed.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import * as mysql from 'mysql2/promise';

export interface MariaDbService {
  port: number;
  /** Creates an empty database and returns a `mysql://` URL to it for a password-protected user. */
  createDatabase(name: string): Promise<string>;
  /** An administrative connection (root over the private socket); close it when done. */
  connect(database?: string, options?: { multipleStatements?: boolean }): Promise<mysql.Connection>;
  stop(): Promise<void>;
}

export interface MariaDbOptions {
  /** The server's default time zone, e.g. `+02:00`: tests can prove they do not depend on it being UTC. */
  timeZone?: string;
}

const USER = 'gateway';
const PASSWORD = 'gateway-test-pw';

export async function startMariaDb(options: MariaDbOptions = {}): Promise<MariaDbService> {
  const mariadbd = await findBinary('mariadbd');
  const installDb = await findBinary('mariadb-install-db');
  const dir = await mkdtemp(join(tmpdir(), 'ccmp-mariadb-'));
  const socketPath = join(dir, 'sock');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  let child: ChildProcess | undefined;

  try {
    await promisify(execFile)(installDb, [
      '--no-defaults',
      ...asRoot,
      `--datadir=${join(dir, 'data')}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
    const port = await freePort();
    child = spawn(
      mariadbd,
      [
        '--no-defaults',
        ...asRoot,
        `--datadir=${join(dir, 'data')}`,
        `--socket=${socketPath}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${join(dir, 'pid')}`,
        `--log-error=${join(dir, 'server.log')}`,
        `--default-time-zone=${options.timeZone ?? '+00:00'}`,
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=32M',
        '--skip-log-bin',
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => {
      child?.once('exit', (code) => {
        resolve(code);
      });
    });
    await waitUntilReady(socketPath, exited, dir);

    const admin = await mysql.createConnection({ socketPath, user: 'root' });
    try {
      await admin.query(`CREATE USER '${USER}'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'`);
    } finally {
      await admin.end();
    }

    const server = child;
    return {
      port,
      async createDatabase(name) {
        if (!/^\w+$/.test(name)) throw new Error(`bad database name ${name}`);
        const conn = await mysql.createConnection({ socketPath, user: 'root' });
        try {
          await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
          await conn.query(`GRANT ALL ON \`${name}\`.* TO '${USER}'@'127.0.0.1'`);
        } finally {
          await conn.end();
        }
        return `mysql://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}`;
      },
      connect: (database, connectOptions = {}) =>
        mysql.createConnection({
          socketPath,
          user: 'root',
          ...(database ? { database } : {}),
          ...connectOptions,
        }),
      async stop() {
        await stopProcess(server, exited);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function findBinary(name: string): Promise<string> {
  // Debian installs the server in sbin, which a non-root PATH often lacks.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    `${name} not found: the MariaDB tests need the mariadb-server package ` +
      '(as root: DEBIAN_FRONTEND=noninteractive apt-get install -y mariadb-server)',
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function waitUntilReady(
  socketPath: string,
  exited: Promise<number | null>,
  dir: string,
): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (gone) break;
    try {
      const conn = await mysql.createConnection({ socketPath, user: 'root' });
      await conn.end();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const log = await readFile(join(dir, 'server.log'), 'utf8').catch(() => '');
  throw new Error(
    `mariadbd ${gone ? 'exited' : 'did not become ready'}:\n${log.split('\n').slice(-20).join('\n')}`,
  );
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((r) => {
    setTimeout(() => {
      r('timeout');
    }, 15_000).unref();
  });
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}
