/**
 * @module Where a request's time goes, measured in-process without HTTP: each stage of the
 * request path timed on its own, in µs per call (best of several rounds, so that a busy machine
 * disturbs it less).
 *
 *   npx tsx bench/breakdown.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mockConnector from '../connectors/mock.ts';
import { demoDirectory } from '../src/auth/demo-directory.ts';
import { decodeRequest } from '../src/ccmp/decode.ts';
import { encodeResponse } from '../src/ccmp/encode.ts';
import { exchange, type ExchangeInput } from '../src/core/dispatch.ts';
import { createGateway } from '../src/gateway.ts';
import { silentLogger } from '../src/log.ts';
import { randomId, webPlatform } from '../src/platform.ts';
import { sqliteStore } from '../src/store/sqlite.ts';
import { parseXml } from '../src/xml/parse.ts';
import { basicAuth, confObjIdOf, confsBody, createBody, retrieveBody, userId } from './messages.ts';
import { seedConferences } from './seed.ts';

const ROUNDS = 5;

/** Best-of-rounds mean time of one call, in µs. */
async function time(iterations: number, fn: () => unknown, rounds = ROUNDS): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      const value = fn();
      if (value instanceof Promise) await value;
    }
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1000 / iterations);
  }
  return best;
}

const dir = mkdtempSync(join(tmpdir(), 'ccmp-breakdown-'));
try {
  const store = sqliteStore({ path: join(dir, 'ccmp.sqlite') });
  const app = createGateway({
    store,
    directory: demoDirectory('example.com'),
    connectors: [mockConnector()],
    logger: silentLogger,
  });
  await app.ready;

  const post = (user: string, body: string) =>
    app.request('http://127.0.0.1/ccmp', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/ccmp+xml', authorization: basicAuth(user) },
    });
  const created = await (await post('alice', createBody('alice'))).text();
  const id = confObjIdOf(created);
  if (!id) throw new Error(`create failed: ${created.slice(0, 400)}`);
  const retrieve = retrieveBody('alice', id);
  const input = (body: string, user = 'alice'): ExchangeInput => ({
    body,
    requestId: 'bench',
    auth: {
      method: 'POST',
      url: '/ccmp',
      header: (name) => (name.toLowerCase() === 'authorization' ? basicAuth(user) : undefined),
      clientAddress: '127.0.0.1',
    },
  });
  const retrieveResult = await exchange(app.deps, app.authenticator, input(retrieve));
  const rows: [string, number][] = [];
  const add = async (name: string, iterations: number, fn: () => unknown, rounds = ROUNDS) => {
    rows.push([name, await time(iterations, fn, rounds)]);
  };

  await add('retrieve: app.request (Hono, in-memory Request, no socket)', 2000, async () => {
    await (await post('alice', retrieve)).text();
  });
  await add('retrieve: exchange() (parse, decode, auth, operation, encode)', 2000, () =>
    exchange(app.deps, app.authenticator, input(retrieve)),
  );
  await add('  parseXml (request, fast-xml-parser + validator)', 2000, () => parseXml(retrieve));
  const tree = parseXml(retrieve);
  await add('  decodeRequest', 5000, () => decodeRequest(tree));
  await add('  authenticator.authenticate (Basic, demo directory)', 5000, () =>
    app.authenticator.authenticate(input(retrieve).auth),
  );
  await add('  store.get (SQLite, object + members)', 5000, () => store.get(id));
  await add('  encodeResponse (stored document embedded)', 5000, () =>
    encodeResponse(retrieveResult.response),
  );
  await add('  parseXml (stored 2.7 KB document)', 1000, () => parseXml(retrieveResult.xml));
  await add('Request body read through ReadableStream (gateway readBody path)', 2000, async () => {
    const request = new Request('http://127.0.0.1/ccmp', { method: 'POST', body: retrieve });
    await request.text();
  });
  await add('randomId (request id, 60 bits)', 20000, () => randomId(webPlatform, 60));

  await add('confs: exchange() (bob, 1 conference)', 2000, () =>
    exchange(app.deps, app.authenticator, input(confsBody('bob'), 'bob')),
  );

  const create = createBody('carol');
  await add('  parseXml (create request, 1.8 KB)', 1000, () => parseXml(create));
  const template = await store.get(id);
  if (!template) throw new Error('no template');
  let seeded = 0;
  for (const n of [0, 1000, 5000]) {
    // carol's own conferences, written straight to the store.
    seeded += await seedConferences(store, template, { from: seeded, to: n, owner: () => 'carol' });
    const objects = await store.count();
    await add(
      `create: exchange() (creator in ${n} conferences, ${objects} objects stored)`,
      20,
      () => exchange(app.deps, app.authenticator, input(create, 'carol')),
      3,
    );
    await add(`  store.listByMember (limit 10001) → ${n}+ rows`, 20, () =>
      store.listByMember(userId('carol'), { kinds: ['conference'], limit: 10_001 }),
    );
    await add(`  store.count (${objects} objects)`, 50, () =>
      store.count(['conference', 'sidebar-by-val', 'sidebar-by-ref']),
    );
  }
  let next = 1_000_000;
  await add('  store.commit (one new conference, 3 members)', 200, () =>
    seedConferences(store, template, { from: next, to: ++next }),
  );
  await store.close();

  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`${'stage'.padEnd(width)}  µs/call (best of ${ROUNDS} rounds)`);
  for (const [name, us] of rows) console.log(`${name.padEnd(width)}  ${us.toFixed(1).padStart(8)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
