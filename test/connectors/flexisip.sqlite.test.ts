import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import flexisipConnector from '../../connectors/flexisip.ts';
import { BASE_OPTIONS, describeFlexisipRows, type TestDatabase } from './_flexisip-cases.ts';
import { describeConnectorContract } from './_suite.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh SQLite file with the conference server's schema, as the server would have created it. */
async function newDatabase(): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'ccmp-flexisip-'));
  dirs.push(dir);
  const path = join(dir, 'linphone.db');
  const handle = new Database(path);
  handle.exec(await readFile(new URL('../fixtures/flexisip/schema.sqlite.sql', import.meta.url), 'utf8'));
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
}

describeConnectorContract('flexisip (SQLite)', async () => {
  const db = await newDatabase();
  return {
    connector: flexisipConnector({ ...BASE_OPTIONS, database: `sqlite:${db.url}` }),
    teardown: () => db.raw.close(),
  };
});

describeFlexisipRows('SQLite', newDatabase);
