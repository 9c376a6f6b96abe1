/**
 * @module Conference-server databases for tests: a fresh SQLite file or MariaDB database holding the
 * Flexisip conference server's schema (from the fixtures), as the server itself would have created it,
 * with raw access for asserting on rows.
 */
import Database from 'better-sqlite3';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestDatabase } from '../connectors/_flexisip-cases.ts';
import type { MariaDbService } from './mariadb.ts';

const schema = (dialect: 'sqlite' | 'mysql') =>
  readFile(new URL(`../fixtures/flexisip/schema.${dialect}.sql`, import.meta.url), 'utf8');

/** Creates SQLite server databases in temporary folders; `cleanup()` removes them all. */
export function sqliteServerDatabases(prefix: string): {
  create(): Promise<TestDatabase>;
  cleanup(): Promise<void>;
} {
  const dirs: string[] = [];
  return {
    async create() {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(dir);
      const path = join(dir, 'conference-server.db');
      const handle = new Database(path);
      handle.exec(await schema('sqlite'));
      return {
        url: path,
        raw: {
          dialect: 'sqlite',
          all: <T extends object>(sql: string, params: (string | number | null)[] = []) =>
            Promise.resolve(handle.prepare<(string | number | null)[], T>(sql).all(...params)),
          run: (sql, params = []) => {
            handle.prepare(sql).run(...params);
            return Promise.resolve();
          },
          close: () => Promise.resolve(void handle.close()),
        },
      };
    },
    async cleanup() {
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** A new database named `name` on the MariaDB service, with the server's schema and a UTC session. */
export async function mariaDbServerDatabase(service: MariaDbService, name: string): Promise<TestDatabase> {
  const url = await service.createDatabase(name);
  const conn = await service.connect(name, { multipleStatements: true });
  await conn.query(await schema('mysql'));
  await conn.query("SET time_zone = '+00:00'");
  return {
    url,
    raw: {
      dialect: 'mysql',
      all: async <T extends object>(sql: string, params: (string | number | null)[] = []) =>
        (await conn.query(sql, params))[0] as T[],
      run: async (sql, params = []) => {
        await conn.query(sql, params);
      },
      close: () => conn.end(),
    },
  };
}
