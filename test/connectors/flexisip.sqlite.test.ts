import { afterAll } from 'vitest';
import flexisipConnector from '../../connectors/flexisip.ts';
import { BASE_OPTIONS, describeFlexisipRows } from './_flexisip-cases.ts';
import { describeConnectorContract } from './_suite.ts';
import { sqliteServerDatabases } from '../services/flexisip-db.ts';

const databases = sqliteServerDatabases('ccmp-flexisip-');
afterAll(() => databases.cleanup());
const newDatabase = () => databases.create();

describeConnectorContract('flexisip (SQLite)', async () => {
  const db = await newDatabase();
  return {
    connector: flexisipConnector({ ...BASE_OPTIONS, database: `sqlite:${db.url}` }),
    teardown: () => db.raw.close(),
  };
});

describeFlexisipRows('SQLite', newDatabase);
