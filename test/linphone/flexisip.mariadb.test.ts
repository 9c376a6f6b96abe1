/**
 * @module Linphone against the gateway on the Flexisip conference server's MariaDB database.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { describeLinphoneOnFlexisip, type TestDatabase } from './_flexisip-suite.ts';

let service: MariaDbService | undefined;
let databases = 0;

// Not UTC on purpose: the rows must hold real instants whatever the session time zone.
beforeAll(async () => {
  service = await startMariaDb({ timeZone: '+02:00' });
}, 120_000);

afterAll(async () => {
  await service?.stop();
}, 60_000);

/** A fresh database with the conference server's schema, as the server would have created it. */
async function newDatabase(): Promise<TestDatabase> {
  if (!service) throw new Error('MariaDB did not start');
  const name = `linphone_${++databases}`;
  const url = await service.createDatabase(name);
  const conn = await service.connect(name, { multipleStatements: true });
  await conn.query(await readFile(new URL('../fixtures/flexisip/schema.mysql.sql', import.meta.url), 'utf8'));
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

describeLinphoneOnFlexisip('MariaDB', newDatabase);
