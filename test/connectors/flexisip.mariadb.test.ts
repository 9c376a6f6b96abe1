import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import flexisipConnector from '../../connectors/flexisip.ts';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { BASE_OPTIONS, describeFlexisipRows } from './_flexisip-cases.ts';
import { describeConnectorContract } from './_suite.ts';
import { mariaDbServerDatabase } from '../services/flexisip-db.ts';

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
const newDatabase = () => mariaDbServerDatabase(service, `flexisip_${++databases}`);

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
