import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import flexisipConnector from '../../connectors/flexisip.ts';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { BASE_OPTIONS, describeFlexisipRows, type TestDatabase } from './_flexisip-cases.ts';
import { describeConnectorContract } from './_suite.ts';

let service: MariaDbService;
let databases = 0;

// Not UTC on purpose: the connector must write real instants whatever the session time zone.
beforeAll(async () => {
  service = await startMariaDb({ timeZone: '+02:00' });
}, 120_000);

afterAll(async () => {
  await service?.stop();
}, 60_000);

/** A fresh database with the conference server's schema, as the server would have created it. */
async function newDatabase(): Promise<TestDatabase> {
  const name = `flexisip_${++databases}`;
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

describeConnectorContract('flexisip (MariaDB)', async () => {
  const db = await newDatabase();
  return {
    connector: flexisipConnector({ ...BASE_OPTIONS, database: db.url }),
    teardown: () => db.raw.close(),
  };
});

describeFlexisipRows('MariaDB', newDatabase);

describe('flexisip connector on MariaDB', () => {
  it('check() refuses the server cleanup that deletes not-yet-expired conferences on MySQL', async () => {
    const db = await newDatabase();
    const connector = flexisipConnector({
      ...BASE_OPTIONS,
      cleanupExpiredConferences: true,
      database: db.url,
    });
    try {
      await expect(connector.check!()).rejects.toThrow(/cleanup-expired-conferences=false/);
    } finally {
      await connector.close!();
      await db.raw.close();
    }
  });
});
