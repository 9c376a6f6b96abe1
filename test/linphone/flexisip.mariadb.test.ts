/**
 * @module Linphone against the gateway on the Flexisip conference server's MariaDB database.
 */
import { afterAll, beforeAll } from 'vitest';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { describeLinphoneOnFlexisip, type TestDatabase } from './_flexisip-suite.ts';
import { mariaDbServerDatabase } from '../services/flexisip-db.ts';

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
function newDatabase(): Promise<TestDatabase> {
  if (!service) throw new Error('MariaDB did not start');
  return mariaDbServerDatabase(service, `linphone_${++databases}`);
}

describeLinphoneOnFlexisip('MariaDB', newDatabase);
